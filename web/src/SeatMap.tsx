// The seat map: every seat where the layout puts it, coloured by price,
// taken seats greyed, selectable by pointer and keyboard (one tab stop;
// arrow keys move between seats, Enter or Space selects), zoom and pan.
import { memo } from "preact/compat";
import { useMemo, useRef, useState } from "preact/hooks";
import type { Layout, Seat, Section } from "./api";

const PALETTE = ["#0b57d0", "#8e24aa", "#00897b", "#ef6c00", "#c2185b", "#5d4037", "#3949ab", "#7cb342"];
const R = 4;

export interface Placed {
  seat: Seat;
  section: Section;
}

interface Props {
  layout: Layout;
  currency: string;
  status: Map<string, string>;
  selected: Set<string>;
  onToggle: (p: Placed) => void;
}

/** Seats in reading order (section, row, number), with each seat's
 * neighbours for the arrow keys. */
function arrange(layout: Layout) {
  const all: Placed[] = [];
  for (const section of layout.sections) for (const seat of section.seats) all.push({ seat, section });
  const byId = new Map(all.map((p) => [p.seat.id, p]));
  const rows = new Map<string, Placed[]>();
  for (const p of all) {
    const k = `${p.section.id}#${p.seat.row}`;
    if (!rows.has(k)) rows.set(k, []);
    rows.get(k)!.push(p);
  }
  for (const r of rows.values()) r.sort((a, b) => a.seat.x - b.seat.x);
  // Loops, not Math.min(...xs): 100,000 arguments overflow the stack.
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { seat } of all) {
    minX = Math.min(minX, seat.x);
    maxX = Math.max(maxX, seat.x);
    minY = Math.min(minY, seat.y);
    maxY = Math.max(maxY, seat.y);
  }
  if (all.length === 0) [minX, minY, maxX, maxY] = [0, 0, 0, 0];
  // At least a small hall's worth of space: a two-seat studio is not
  // drawn with seats the size of the screen.
  const minW = 200;
  const minH = 110;
  const x0 = minX - 3 * R;
  const y0 = minY - 5 * R;
  const w0 = maxX - minX + 6 * R;
  const h0 = maxY - minY + 8 * R;
  const box = {
    x: x0 - Math.max(0, minW - w0) / 2,
    y: y0 - Math.max(0, minH - h0) / 2,
    w: Math.max(w0, minW),
    h: Math.max(h0, minH),
  };
  const labels = layout.sections
    .filter((s) => s.seats.length > 0)
    .map((s) => {
      let [x, y] = [Infinity, Infinity];
      for (const seat of s.seats) {
        x = Math.min(x, seat.x);
        y = Math.min(y, seat.y);
      }
      return { id: s.id, name: s.name, x, y: y - 2.5 * R };
    });
  return { all, byId, rows, box, labels };
}

export function priceColours(layout: Layout): Map<string, string> {
  const prices = [...new Set(layout.sections.map((s) => s.price))].sort((a, b) => Number(b) - Number(a));
  return new Map(prices.map((p, i) => [p, PALETTE[i % PALETTE.length]]));
}

const SeatDot = memo(function SeatDot(props: {
  p: Placed;
  state: string;
  chosen: boolean;
  focus: boolean;
  colour: string;
  currency: string;
}) {
  const { seat, section } = props.p;
  const free = props.state === "available";
  const label = `${section.name}, row ${seat.row}, seat ${seat.number}, ${seat.price} ${props.currency}, ${
    props.chosen ? "selected" : props.state
  }`;
  return (
    <circle
      cx={seat.x}
      cy={seat.y}
      r={R}
      class={`seat ${props.chosen ? "chosen" : props.state}`}
      fill={props.chosen ? "#111" : free ? props.colour : "#c8c8c8"}
      data-seat-id={seat.id}
      data-status={props.chosen ? "selected" : props.state}
      role="checkbox"
      aria-checked={props.chosen}
      aria-disabled={!free && !props.chosen}
      aria-label={label}
      // Lower case: SVG attributes are case-sensitive (`tabIndex` is not
      // one), and Preact writes SVG props as attributes.
      tabindex={props.focus ? 0 : -1}
    >
      <title>{label}</title>
    </circle>
  );
});

/** Every seat, drawn once per change of what they show — not when the map
 * is zoomed or panned (only the viewBox changes then): a 50,000-seat map
 * stays smooth. */
const SeatsLayer = memo(function SeatsLayer(props: {
  all: Placed[];
  status: Map<string, string>;
  selected: Set<string>;
  focusId: string;
  colours: Map<string, string>;
  currency: string;
}) {
  return (
    <g>
      {props.all.map((p) => (
        <SeatDot
          key={p.seat.id}
          p={p}
          state={props.status.get(p.seat.id) ?? "available"}
          chosen={props.selected.has(p.seat.id)}
          focus={p.seat.id === props.focusId}
          colour={props.colours.get(p.section.price) ?? PALETTE[0]}
          currency={props.currency}
        />
      ))}
    </g>
  );
});

export function SeatMap(props: Props) {
  const { all, byId, rows, box, labels } = useMemo(() => arrange(props.layout), [props.layout]);
  const colours = useMemo(() => priceColours(props.layout), [props.layout]);
  const [focusId, setFocusState] = useState<string>(() => all[0]?.seat.id ?? "");
  // The keys read the focused seat from here, not from the state: a key
  // pressed before the next render must act on the seat it was pressed on.
  const focused = useRef(focusId);
  const setFocusId = (id: string) => {
    focused.current = id;
    setFocusState(id);
  };
  const [zoom, setZoom] = useState({ scale: 1, cx: box.x + box.w / 2, cy: box.y + box.h / 2 });
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ x: number; y: number; cx: number; cy: number } | null>(null);

  const w = box.w / zoom.scale;
  const h = box.h / zoom.scale;
  const viewBox = `${zoom.cx - w / 2} ${zoom.cy - h / 2} ${w} ${h}`;
  const zoomBy = (f: number) =>
    setZoom((z) => ({ ...z, scale: Math.min(20, Math.max(1, z.scale * f)) }));

  const focusSeat = (id: string) => {
    setFocusId(id);
    svg.current?.querySelector<SVGElement>(`[data-seat-id="${CSS.escape(id)}"]`)?.focus();
  };
  const move = (from: Placed, key: string): Placed | undefined => {
    const row = rows.get(`${from.section.id}#${from.seat.row}`)!;
    const i = row.indexOf(from);
    if (key === "ArrowRight") return row[i + 1];
    if (key === "ArrowLeft") return row[i - 1];
    const sectionRows = [...rows.entries()]
      .filter(([k]) => k.startsWith(`${from.section.id}#`))
      .map(([, r]) => r)
      .sort((a, b) => a[0].seat.y - b[0].seat.y);
    const at = sectionRows.indexOf(row);
    let next = sectionRows[key === "ArrowDown" ? at + 1 : at - 1];
    if (!next) {
      // Off the section's edge: the next (or previous) section.
      const si = props.layout.sections.indexOf(from.section);
      const other = props.layout.sections[key === "ArrowDown" ? si + 1 : si - 1];
      if (!other || other.seats.length === 0) return undefined;
      return byId.get(other.seats[0].id);
    }
    return next.reduce((best, p) =>
      Math.abs(p.seat.x - from.seat.x) < Math.abs(best.seat.x - from.seat.x) ? p : best,
    );
  };

  return (
    <div class="seatmap">
      <div class="zoom" role="group" aria-label="Zoom the seat map">
        <button type="button" onClick={() => zoomBy(1.5)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoomBy(1 / 1.5)} aria-label="Zoom out">
          −
        </button>
        <button
          type="button"
          onClick={() => setZoom({ scale: 1, cx: box.x + box.w / 2, cy: box.y + box.h / 2 })}
        >
          Whole map
        </button>
      </div>
      <svg
        ref={svg}
        viewBox={viewBox}
        role="group"
        aria-label={`Seat map of ${props.layout.venue.name}: arrow keys move between seats, Enter or Space selects`}
        onWheel={(e) => {
          e.preventDefault();
          zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2);
        }}
        onPointerDown={(e) => {
          drag.current = { x: e.clientX, y: e.clientY, cx: zoom.cx, cy: zoom.cy };
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || !svg.current || zoom.scale === 1) return;
          const px = w / svg.current.clientWidth;
          setZoom((z) => ({ ...z, cx: d.cx - (e.clientX - d.x) * px, cy: d.cy - (e.clientY - d.y) * px }));
        }}
        onPointerUp={() => (drag.current = null)}
        onPointerLeave={() => (drag.current = null)}
        onClick={(e) => {
          const id = (e.target as Element).getAttribute?.("data-seat-id");
          const p = id ? byId.get(id) : undefined;
          if (p) {
            setFocusId(p.seat.id);
            props.onToggle(p);
          }
        }}
        onFocusIn={(e) => {
          // Focus that arrives by pointer or script: the keys start there.
          const id = (e.target as Element).getAttribute?.("data-seat-id");
          if (id && id !== focused.current) setFocusId(id);
        }}
        onKeyDown={(e) => {
          const p = byId.get(focused.current);
          if (!p) return;
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            props.onToggle(p);
          } else if (e.key.startsWith("Arrow")) {
            e.preventDefault();
            const next = move(p, e.key);
            if (next) focusSeat(next.seat.id);
          }
        }}
      >
        {labels.map((l) => (
          <text key={l.id} x={l.x} y={l.y} class="section-label" aria-hidden="true">
            {l.name}
          </text>
        ))}
        <SeatsLayer
          all={all}
          status={props.status}
          selected={props.selected}
          focusId={focusId}
          colours={colours}
          currency={props.currency}
        />
      </svg>
      <ul class="legend" aria-label="Legend">
        {[...colours.entries()].map(([price, colour]) => (
          <li key={price}>
            <span class="swatch" style={{ background: colour }} aria-hidden="true" />
            {price} {props.currency}
          </li>
        ))}
        <li>
          <span class="swatch" style={{ background: "#c8c8c8" }} aria-hidden="true" />
          taken
        </li>
        <li>
          <span class="swatch" style={{ background: "#111" }} aria-hidden="true" />
          your choice
        </li>
      </ul>
    </div>
  );
}
