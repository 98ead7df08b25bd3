// Small pieces the pages share.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

/** A failed request, said the way the API said it (problem+json detail). */
export function Failure({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError ? error.message : "The service could not be reached; try again.";
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** Seconds left until `iso`, ticking every second. */
export function useCountdown(iso: string | undefined): number {
  const left = () => (iso ? Math.max(0, Math.floor((Date.parse(iso) - Date.now()) / 1000)) : 0);
  const [secs, setSecs] = useState(left());
  useEffect(() => {
    setSecs(left());
    const t = setInterval(() => setSecs(left()), 1000);
    return () => clearInterval(t);
  }, [iso]);
  return secs;
}

export function Countdown({ until, label }: { until: string; label: string }) {
  const secs = useCountdown(until);
  const text = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
  return (
    <p class={secs > 0 ? "countdown" : "countdown over"} role="timer" aria-label={label}>
      {secs > 0 ? (
        <>
          {label}: <strong>{text}</strong>
        </>
      ) : (
        <>{label}: time is up</>
      )}
    </p>
  );
}

/** The simulator's test cards (docs/operations.md). */
export const TEST_CARDS: [string, string][] = [
  ["tok_visa", "Visa (test, pays)"],
  ["tok_mastercard", "Mastercard (test, pays)"],
  ["tok_chargeDeclined", "Declined card (test)"],
];

export function CardPicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <fieldset class="cards-choice">
      <legend>Pay with a test card</legend>
      {TEST_CARDS.map(([token, label]) => (
        <label key={token}>
          <input
            type="radio"
            name="card"
            value={token}
            checked={value === token}
            onChange={() => onChange(token)}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
