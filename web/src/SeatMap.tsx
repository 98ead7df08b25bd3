// The seat map: every seat where the layout puts it, coloured by price,
// taken seats greyed, selectable by pointer and keyboard (one tab stop;
// arrow keys move between seats, Enter or Space selects), zoom and pan.
//
// Big venues. A browser redraws 50,000 SVG circles far too slowly for a
// zoom or a key press to feel immediate (docs/benchmarks.md), so the map
// never draws more than SEAT_LIMIT seats at once:
// - each section is cut into tiles of at most TILE seats (consecutive
//   seats, so rows stay together), and only the tiles in view are drawn,
//   each as its own memoised layer: a zoom or a pan mounts the tiles that
//   came into view and leaves the others alone, and a status refresh or a
//   keyboard step redraws only the tiles whose seats changed;
// - while the tiles in view hold more seats than SEAT_LIMIT (the whole
//   map of a stadium), each section is drawn as one block — its price
//   colour, paler as it fills, and how many seats are left — that opens
//   the section when clicked or activated by the keyboard. Every seat stays
//   reachable: a section from its block, and from one seat the arrow keys
//   reach the rest, the map following the focus.
// A venue of up to SEAT_LIMIT seats (the Harbor Arena's 4,200) is drawn
// whole, seat by seat, at every zoom.
import { memo } from "preact/compat";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Layout, Seat, Section } from "./api";

const PALETTE = ["#0b57d0", "#8e24aa", "#00897b", "#ef6c00", "#c2185b", "#5d4037", "#3949ab", "#7cb342"];
const TAKEN = "#c8c8c8";
const R = 4;
/** Seats drawn at most at once (those in view, and the focused seat's tile). */
export const SEAT_LIMIT = 5000;
/** Seats per tile, the unit of culling and redrawing. */
const TILE = 200;
const MAX_SCALE = 40;

export interface Placed {
  seat: Seat;
  section: Section;
  /** The seat's place in its section's `seats` (and status string). */
  index: number;
}

export type SeatState = "available" | "held" | "booked";

/** A seat's state from its character in the compact availability. */
export const stateOf = (ch: string | undefined): SeatState =>
  ch === "b" ? "booked" : ch === "h" ? "held" : "available";

interface Props {
  layout: Layout;
  currency: string;
  /** Each section's seat states, one character per seat in the layout's
   * order (`a`, `h`, `b`: the compact availability's `seat_status`); a
   * section missing here is all available. */
  states: Map<string, string>;
  selected: Set<string>;
  onToggle: (p: Placed) => void;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Tile {
  key: string;
  section: Section;
  /** Index in the section of the tile's first seat. */
  start: number;
  placed: Placed[];
  bounds: Box;
}

interface Block {
  section: Section;
  bounds: Box;
  tiles: Tile[];
}

function bounds(placed: Placed[]): Box {
  // Loops, not Math.min(...xs): 100,000 arguments overflow the stack.
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { seat } of placed) {
    x0 = Math.min(x0, seat.x);
    x1 = Math.max(x1, seat.x);
    y0 = Math.min(y0, seat.y);
    y1 = Math.max(y1, seat.y);
  }
  if (placed.length === 0) [x0, y0, x1, y1] = [0, 0, 0, 0];
  return { x: x0 - R, y: y0 - R, w: x1 - x0 + 2 * R, h: y1 - y0 + 2 * R };
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Seats in reading order, cut into tiles, with each seat's neighbours
 * for the arrow keys. */
function arrange(layout: Layout) {
  const all: Placed[] = [];
  const blocks: Block[] = [];
  const tiles: Tile[] = [];
  for (const section of layout.sections) {
    const placed: Placed[] = [];
    section.seats.forEach((seat, index) => placed.push({ seat, section, index }));
    for (const p of placed) all.push(p);
    const own: Tile[] = [];
    for (let start = 0; start < placed.length; start += TILE) {
      const part = placed.slice(start, start + TILE);
      own.push({ key: `${section.id}@${start}`, section, start, placed: part, bounds: bounds(part) });
    }
    for (const t of own) tiles.push(t);
    if (placed.length > 0) blocks.push({ section, bounds: bounds(placed), tiles: own });
  }
  const byId = new Map(all.map((p) => [p.seat.id, p]));
  // Rows for the arrow keys: each row left to right, each section's rows
  // top to bottom.
  const rowOf = new Map<Placed, Placed[]>();
  const sectionRows = new Map<string, Placed[][]>();
  {
    const rows = new Map<string, Placed[]>();
    for (const p of all) {
      const k = `${p.section.id}#${p.seat.row}`;
      let row = rows.get(k);
      if (!row) {
        row = [];
        rows.set(k, row);
        if (!sectionRows.has(p.section.id)) sectionRows.set(p.section.id, []);
        sectionRows.get(p.section.id)!.push(row);
      }
      row.push(p);
      rowOf.set(p, row);
    }
    for (const r of rows.values()) r.sort((a, b) => a.seat.x - b.seat.x);
    for (const rs of sectionRows.values()) rs.sort((a, b) => a[0].seat.y - b[0].seat.y);
  }
  const whole = bounds(all);
  // Room for the section labels, and at least a small hall's worth of
  // space: a two-seat studio is not drawn with seats the size of the screen.
  const [minW, minH] = [200, 110];
  const w0 = whole.w + 4 * R;
  const h0 = whole.h + 6 * R;
  const box = {
    x: whole.x - 2 * R - Math.max(0, minW - w0) / 2,
    y: whole.y - 4 * R - Math.max(0, minH - h0) / 2,
    w: Math.max(w0, minW),
    h: Math.max(h0, minH),
  };
  const blockOf = new Map(blocks.map((b) => [b.section.id, b]));
  return { all, byId, rowOf, sectionRows, blocks, blockOf, tiles, box };
}

export function priceColours(layout: Layout): Map<string, string> {
  const prices = [...new Set(layout.sections.map((s) => s.price))].sort((a, b) => Number(b) - Number(a));
  return new Map(prices.map((p, i) => [p, PALETTE[i % PALETTE.length]]));
}

const SeatDot = memo(function SeatDot(props: {
  p: Placed;
  state: SeatState;
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
      fill={props.chosen ? "#111" : free ? props.colour : TAKEN}
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

/** One tile's seats. Its props are strings, so it redraws only when its own
 * seats' states, choices or the tab stop among them changed. */
const TileSeats = memo(function TileSeats(props: {
  tile: Tile;
  /** The tile's slice of its section's status string. */
  states: string;
  /** The chosen seats of this tile, each followed by a newline. */
  chosen: string;
  /** The seat that is the map's tab stop, if it is in this tile. */
  tabStop: string;
  colour: string;
  currency: string;
}) {
  return (
    <g>
      {props.tile.placed.map((p, i) => (
        <SeatDot
          key={p.seat.id}
          p={p}
          state={stateOf(props.states[i])}
          chosen={props.chosen.includes(`${p.seat.id}\n`)}
          focus={p.seat.id === props.tabStop}
          colour={props.colour}
          currency={props.currency}
        />
      ))}
    </g>
  );
});

/** A section drawn as one block while the seats in view are too many. */
function SectionBlock(props: { block: Block; states: string; colour: string; currency: string; onOpen: () => void }) {
  const { section, bounds: b } = props.block;
  const seats = section.seats.length;
  let free = 0;
  for (let i = 0; i < seats; i++) if (stateOf(props.states[i]) === "available") free++;
  const label = `${section.name}: ${free} of ${seats} seats available, ${section.price} ${props.currency}; opens the section's seats`;
  const open = (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    props.onOpen();
  };
  return (
    <g>
      <rect
        x={b.x}
        y={b.y}
        width={b.w}
        height={b.h}
        rx={R}
        class="block"
        fill={free > 0 ? props.colour : TAKEN}
        fill-opacity={free > 0 ? 0.35 + (0.65 * free) / seats : 1}
        data-section-id={section.id}
        data-available={free}
        role="button"
        tabindex={0}
        aria-label={label}
        onClick={open}
        onKeyDown={(e) => (e.key === "Enter" || e.key === " " ? open(e) : undefined)}
      >
        <title>{label}</title>
      </rect>
      <text
        x={b.x + b.w / 2}
        y={b.y + b.h / 2}
        class="block-count"
        style={{ fontSize: `${Math.max(7, Math.min(b.w / 5, b.h / 3))}px` }}
        aria-hidden="true"
      >
        {free}
      </text>
    </g>
  );
}

interface Zoom {
  scale: number;
  cx: number;
  cy: number;
}

export function SeatMap(props: Props) {
  const { all, byId, rowOf, sectionRows, blocks, blockOf, tiles, box } = useMemo(() => arrange(props.layout), [props.layout]);
  const colours = useMemo(() => priceColours(props.layout), [props.layout]);
  const whole = (): Zoom => ({ scale: 1, cx: box.x + box.w / 2, cy: box.y + box.h / 2 });
  const [focusId, setFocusState] = useState<string>(() => all[0]?.seat.id ?? "");
  // The keys read the focused seat from here, not from the state: a key
  // pressed before the next render must act on the seat it was pressed on.
  const focused = useRef(focusId);
  // A seat to focus once it is drawn (after a pan or a section opening).
  const pending = useRef<string | null>(null);
  const setFocusId = (id: string) => {
    focused.current = id;
    setFocusState(id);
  };
  const [zoom, setZoom] = useState<Zoom>(whole);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ x: number; y: number; cx: number; cy: number; moved: boolean } | null>(null);

  // A new layout (the designer's live preview) starts from the whole map.
  useEffect(() => setZoom(whole()), [box.x, box.y, box.w, box.h]);
  useEffect(() => {
    const el = svg.current;
    if (!el) return;
    const measure = () =>
      setSize((s) => (s && s.w === el.clientWidth && s.h === el.clientHeight ? s : { w: el.clientWidth, h: el.clientHeight }));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // Before the next key press is handled: a held-down arrow key must find
  // the focus on the seat it moved to, not on the page.
  useLayoutEffect(() => {
    const id = pending.current;
    if (!id) return;
    const el = svg.current?.querySelector<SVGElement>(`[data-seat-id="${CSS.escape(id)}"]`);
    if (el) {
      pending.current = null;
      el.focus();
    }
  });

  /** What a zoom shows: the area in view (the viewBox stretched to the
   * element's shape), the tiles in it and whether they are few enough to
   * draw seat by seat. */
  const plan = (z: Zoom) => {
    const w = box.w / z.scale;
    const h = box.h / z.scale;
    let [vw, vh] = [w, h];
    if (size && size.w > 0 && size.h > 0) {
      const s = Math.min(size.w / w, size.h / h);
      [vw, vh] = [size.w / s, size.h / s];
    }
    const view = { x: z.cx - vw / 2, y: z.cy - vh / 2, w: vw, h: vh };
    const shown = tiles.filter((t) => overlaps(t.bounds, view));
    let count = 0;
    for (const t of shown) count += t.placed.length;
    return { viewBox: `${z.cx - w / 2} ${z.cy - h / 2} ${w} ${h}`, view, shown, detailed: count <= SEAT_LIMIT - TILE };
  };
  const planned = plan(zoom);
  const { viewBox, view, detailed } = planned;

  const clampScale = (s: number) => Math.min(MAX_SCALE, Math.max(1, s));
  const zoomBy = (f: number) => setZoom((z) => ({ ...z, scale: clampScale(z.scale * f) }));
  /** Centre on (x, y) at `scale` or closer, close enough for seats. */
  const seatsAt = (x: number, y: number, scale: number): Zoom => {
    let z = { scale: clampScale(scale), cx: x, cy: y };
    while (!plan(z).detailed && z.scale < MAX_SCALE) z = { ...z, scale: clampScale(z.scale * 1.5) };
    return z;
  };
  const openSection = (b: Block) => {
    // The section fills the view; a section too big to draw at once opens
    // on its first tiles.
    let area = b.bounds;
    let n = 0;
    const first: Tile[] = [];
    for (const t of b.tiles) {
      if (n > 0 && n + t.placed.length > SEAT_LIMIT / 2) break;
      first.push(t);
      n += t.placed.length;
    }
    if (first.length < b.tiles.length) area = bounds(first.flatMap((t) => t.placed));
    const scale = Math.min(box.w / (area.w * 1.15), box.h / (area.h * 1.3));
    setZoom(seatsAt(area.x + area.w / 2, area.y + area.h / 2, scale));
    const start = first[0]?.placed[0];
    if (start) {
      setFocusId(start.seat.id);
      pending.current = start.seat.id;
    }
  };

  const focusSeat = (p: Placed) => {
    setFocusId(p.seat.id);
    const { seat } = p;
    const inView = seat.x > view.x && seat.x < view.x + view.w && seat.y > view.y && seat.y < view.y + view.h;
    if (!inView || !detailed) setZoom((z) => seatsAt(seat.x, seat.y, z.scale));
    const el = svg.current?.querySelector<SVGElement>(`[data-seat-id="${CSS.escape(seat.id)}"]`);
    if (el && inView && detailed) el.focus();
    else pending.current = seat.id;
  };
  const move = (from: Placed, key: string): Placed | undefined => {
    const row = rowOf.get(from)!;
    const i = row.indexOf(from);
    if (key === "ArrowRight") return row[i + 1];
    if (key === "ArrowLeft") return row[i - 1];
    const sRows = sectionRows.get(from.section.id)!;
    const at = sRows.indexOf(row);
    const next = sRows[key === "ArrowDown" ? at + 1 : at - 1];
    if (!next) {
      // Off the section's edge: the next (or previous) section.
      const si = props.layout.sections.indexOf(from.section);
      const other = props.layout.sections[key === "ArrowDown" ? si + 1 : si - 1];
      if (!other || other.seats.length === 0) return undefined;
      return byId.get(other.seats[0].id);
    }
    return next.reduce((best, p) => (Math.abs(p.seat.x - from.seat.x) < Math.abs(best.seat.x - from.seat.x) ? p : best));
  };

  const tileOf = (p: Placed) => blockOf.get(p.section.id)?.tiles[Math.floor(p.index / TILE)];
  const at = byId.get(focusId);
  const focusTile = at && tileOf(at);
  // The focused seat stays drawn while the view moves away from it (its
  // tile is kept): removing the element that has the focus would drop the
  // focus to the page, and the keys with it.
  const shown =
    detailed && focusTile && !planned.shown.includes(focusTile) ? [...planned.shown, focusTile] : planned.shown;
  // The tab stop: the focused seat if it is drawn, else the first seat drawn.
  const [stop, stopTile] =
    focusTile && shown.includes(focusTile) ? [focusId, focusTile] : [shown[0]?.placed[0]?.seat.id ?? "", shown[0]];
  const chosen = new Map<Tile | undefined, string>();
  for (const id of props.selected) {
    const p = byId.get(id);
    const t = p && tileOf(p);
    if (t) chosen.set(t, `${chosen.get(t) ?? ""}${id}\n`);
  }
  const labelSize = detailed ? 7 : Math.max(7, view.w / 90);

  return (
    <div class="seatmap">
      <div class="zoom" role="group" aria-label="Zoom the seat map">
        <button type="button" onClick={() => zoomBy(1.5)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoomBy(1 / 1.5)} aria-label="Zoom out">
          −
        </button>
        <button type="button" onClick={() => setZoom(whole())}>
          Whole map
        </button>
        {!detailed && <span class="hint">Choose a section to see its seats</span>}
      </div>
      <svg
        ref={svg}
        viewBox={viewBox}
        // Chromium makes an SVG element with focus listeners (onFocusIn
        // below) a tab stop of its own; the map's tab stops are its seats
        // or sections.
        tabindex={-1}
        role="group"
        aria-label={
          detailed
            ? `Seat map of ${props.layout.venue.name}: arrow keys move between seats, Enter or Space selects`
            : `Seat map of ${props.layout.venue.name}, by section: Enter or Space on a section opens its seats`
        }
        onWheel={(e) => {
          e.preventDefault();
          zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2);
        }}
        onPointerDown={(e) => {
          drag.current = { x: e.clientX, y: e.clientY, cx: zoom.cx, cy: zoom.cy, moved: false };
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || !svg.current || zoom.scale === 1) return;
          if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) > 4) d.moved = true;
          const px = box.w / zoom.scale / svg.current.clientWidth;
          setZoom((z) => ({ ...z, cx: d.cx - (e.clientX - d.x) * px, cy: d.cy - (e.clientY - d.y) * px }));
        }}
        onPointerUp={() => {
          // A drag that moved the map is not also a click on what it ends on.
          const moved = drag.current?.moved;
          drag.current = null;
          if (moved) {
            const stop = (e: Event) => e.stopPropagation();
            window.addEventListener("click", stop, { capture: true, once: true });
            setTimeout(() => window.removeEventListener("click", stop, { capture: true }), 0);
          }
        }}
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
          if (!(e.target as Element).getAttribute?.("data-seat-id")) return;
          const p = byId.get(focused.current);
          if (!p) return;
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            props.onToggle(p);
          } else if (e.key.startsWith("Arrow")) {
            e.preventDefault();
            const next = move(p, e.key);
            if (next) focusSeat(next);
          }
        }}
      >
        {blocks
          .filter((b) => overlaps(b.bounds, view))
          .map((b) => (
            <text
              key={b.section.id}
              x={b.bounds.x}
              y={b.bounds.y - R}
              class="section-label"
              style={{ fontSize: `${labelSize}px` }}
              aria-hidden="true"
            >
              {b.section.name}
            </text>
          ))}
        {detailed
          ? shown.map((t) => (
              <TileSeats
                key={t.key}
                tile={t}
                states={(props.states.get(t.section.id) ?? "").slice(t.start, t.start + t.placed.length)}
                chosen={chosen.get(t) ?? ""}
                tabStop={t === stopTile ? stop : ""}
                colour={colours.get(t.section.price) ?? PALETTE[0]}
                currency={props.currency}
              />
            ))
          : blocks.map((b) => (
              <SectionBlock
                key={b.section.id}
                block={b}
                states={props.states.get(b.section.id) ?? ""}
                colour={colours.get(b.section.price) ?? PALETTE[0]}
                currency={props.currency}
                onOpen={() => openSection(b)}
              />
            ))}
      </svg>
      <ul class="legend" aria-label="Legend">
        {[...colours.entries()].map(([price, colour]) => (
          <li key={price}>
            <span class="swatch" style={{ background: colour }} aria-hidden="true" />
            {price} {props.currency}
          </li>
        ))}
        <li>
          <span class="swatch" style={{ background: TAKEN }} aria-hidden="true" />
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
