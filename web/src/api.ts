// The API on the same origin: JSON in and out, the session's bearer token,
// problem+json turned into an Error carrying status and detail.

export type Money = string;

export interface Problem {
  status: number;
  title?: string;
  detail: string;
  field?: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
  }
  get status(): number {
    return this.problem.status;
  }
}

const TOKEN = "evently.token";
const USER = "evently.user";

export interface User {
  id: string;
  email: string;
  name: string;
  role: "customer" | "organizer" | "admin";
}

export const session = {
  token(): string | null {
    return localStorage.getItem(TOKEN);
  },
  user(): User | null {
    const raw = localStorage.getItem(USER);
    return raw ? (JSON.parse(raw) as User) : null;
  },
  save(token: string, user: User) {
    localStorage.setItem(TOKEN, token);
    localStorage.setItem(USER, JSON.stringify(user));
    window.dispatchEvent(new Event("evently:session"));
  },
  clear() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USER);
    window.dispatchEvent(new Event("evently:session"));
  },
};

/** A fresh Idempotency-Key: a retried click sends the same one. */
export function newKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...extra };
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  const data = text ? JSON.parse(text) : {};
  if (!resp.ok) {
    if (resp.status === 401 && token) session.clear();
    throw new ApiError({ status: resp.status, detail: data.detail ?? resp.statusText, ...data });
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown, extra?: Record<string, string>) =>
  api<T>("POST", path, body, extra);

// Shapes of the API (docs/openapi.yaml), as far as the pages read them.
export interface VenueRef {
  id: string;
  name: string;
  city: string;
}
export interface Policy {
  allowed: boolean;
  deadline_hours: number;
  fee_type: "none" | "fixed" | "percentage";
  fee_value: Money;
}
export interface EventView {
  id: string;
  name: string;
  description: string;
  starts_at: string;
  ends_at: string;
  status: string;
  currency: string;
  venue: VenueRef;
  price_range: { min: Money; max: Money };
  total_seats: number;
  available_seats: number;
  sold_out: boolean;
  cancellation_policy: Policy;
  /** A waiting room in front of the on-sale (null or absent: none). */
  admission?: Admission | null;
}
export interface Admission {
  on_sale_at: string;
  rate_per_minute: number;
  window_seconds?: number;
}
export interface QueueTicket {
  id: string;
  event_id: string;
  joined_at: string;
  status: "waiting" | "admitted" | "expired";
  position: number;
  estimated_wait_seconds: number;
  admission_token?: string;
  admitted_until?: string;
}
export interface Seat {
  id: string;
  row: number;
  number: number;
  x: number;
  y: number;
  price: Money;
  status?: "available" | "held" | "booked";
}
export interface Section {
  id: string;
  name: string;
  price: Money;
  capacity: number;
  available?: number;
  seats: Seat[];
}
export interface Layout {
  event_id: string;
  venue: VenueRef;
  sections: Section[];
}
export interface Compact {
  sold_out: boolean;
  total_available: number;
  sections: { id: string; available: number; seat_status: string }[];
}
export interface Hold {
  hold_id: string;
  event_id: string;
  section_id: string;
  seat_ids: string[];
  expires_at: string;
  total_price: Money;
}
export interface Booking {
  id: string;
  event_id: string;
  section_id: string;
  seat_ids: string[];
  status: "confirmed" | "cancelled";
  total_price: Money;
  refund_amount?: Money;
  cancellation_fee?: Money;
  created_at: string;
  cancellation?: { allowed: boolean; refund_amount?: Money; cancellation_fee?: Money; until?: string; reason?: string };
  event?: { id: string; name: string; starts_at: string; ends_at: string; venue: VenueRef };
}
export interface Ticket {
  id: string;
  seat_id: string;
  code: string;
  status: "valid" | "checked_in" | "void";
  checked_in_at?: string;
  qr_svg: string;
}
export interface Offer {
  hold_id: string;
  section_id: string;
  seat_ids: string[];
  total_price: Money;
  expires_at: string;
  claim_url: string;
}
export interface Entry {
  id: string;
  event_id: string;
  quantity: number;
  status: string;
  position: number | null;
  offer?: Offer;
  /** With `/waitlist/me`: the event it waits for. */
  event?: { id: string; name: string; starts_at: string; status: string };
}

/** "Tuesday 2 March 2027, 19:00" in the browser's own zone. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}
