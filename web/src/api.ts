// The HTTP API: JSON in and out, the session cookie, and the CSRF header on every write.
import type {
  AccountKind,
  Accounts,
  ApiKey,
  ApiKeyCreated,
  Asset,
  Balance,
  Candle,
  ClosedPage,
  ClosedTrade,
  CreateOrder,
  CreateOrderOut,
  Market,
  NewApiKey,
  OpenOrders,
  Quote,
  User,
} from "./types";

const API = "/api/v1";

// The account every trade, balance and history call names, so what is shown is always the
// account the badge says, even while a switch is on its way.
let acting: AccountKind = "demo";

/** Make every account call from now on act on ``kind``. */
export function actOn(kind: AccountKind): void {
  acting = kind;
}

/** The account the calls act on. */
export function actingOn(): AccountKind {
  return acting;
}

function scoped(path: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}account=${acting}`;
}

/** A refusal from the API, carrying its `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|; )cfd_csrf=([^;]+)/);
  return match?.[1] !== undefined ? decodeURIComponent(match[1]) : "";
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) {
      return new ApiError(response.status, body.error.code ?? "ERROR", body.error.message);
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError(response.status, "HTTP_" + response.status, response.statusText || "Request failed");
}

async function call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (method === "DELETE") headers["X-CSRF-Token"] = csrfToken();
  if (method === "POST") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = csrfToken();
    init.body = JSON.stringify(body ?? {});
  }
  let response: Response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, "NETWORK", "The platform cannot be reached. Check your connection.");
  }
  if (!response.ok) {
    throw await errorOf(response);
  }
  if (response.status === 202 || response.status === 204) {
    return undefined as T;
  }
  return (await response.json()) as T;
}

export const api = {
  me: () => call<User>("GET", "/auth/me"),
  login: (email: string) => call<void>("POST", "/auth/login", { email }),
  logout: () => call<void>("POST", "/auth/logout"),
  assets: () => call<Asset[]>("GET", "/supportedAssets"),
  latestPrices: () => call<Quote[]>("GET", "/prices/latest"),
  markets: () => call<Market[]>("GET", "/markets"),
  accounts: () => call<Accounts>("GET", "/account"),
  switchAccount: (account: AccountKind) => call<Accounts>("POST", "/account/active", { account }),
  balance: () => call<Balance>("GET", scoped("/balance")),
  resetDemo: () => call<unknown>("POST", scoped("/account/demo/reset")),
  open: () => call<OpenOrders>("GET", scoped("/trade/open")),
  create: (order: CreateOrder) => call<CreateOrderOut>("POST", scoped("/trade/create"), order),
  close: (orderId: number, fraction?: string) =>
    call<ClosedTrade>("POST", scoped("/trade/close"), fraction === undefined ? { order_id: orderId } : { order_id: orderId, fraction }),
  modify: (orderId: number, exits: Record<string, string | null>) =>
    call<unknown>("POST", scoped("/trade/modify"), { order_id: orderId, ...exits }),
  cancel: (orderId: number) => call<unknown>("POST", scoped("/trade/cancel"), { order_id: orderId }),
  closed: (cursor: string | null, limit = 50) =>
    call<ClosedPage>("GET", scoped(`/trade/closed?limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""))),
  apiKeys: () => call<{ keys: ApiKey[] }>("GET", "/account/api-keys"),
  createApiKey: (key: NewApiKey) => call<ApiKeyCreated>("POST", "/account/api-keys", key),
  revokeApiKey: (keyId: number) => call<void>("DELETE", `/account/api-keys/${keyId}`),
  candles: (asset: string, interval: string, limit = 500) =>
    call<Candle[]>("GET", `/candles?asset=${encodeURIComponent(asset)}&interval=${interval}&limit=${limit}`),
};

/** Whether the dev mailbox exists (it does only in `dev`). */
export async function devMailboxExists(): Promise<boolean> {
  try {
    const response = await fetch("/dev/mailbox", { method: "GET", credentials: "same-origin" });
    return response.ok;
  } catch {
    return false;
  }
}
