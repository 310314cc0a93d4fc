// The API's shapes, as the gateway sends them: amounts and prices are decimal strings.

export interface User {
  id: number;
  email: string;
}

export interface Asset {
  symbol: string;
  name: string;
  price_decimals: number;
  quantity_decimals: number;
  max_leverage: number;
  maintenance_margin: string;
}

export interface Quote {
  asset: string;
  bid: string;
  ask: string;
  mark: string;
  ts: number;
}

/** An asset's bid and the stored bid 24 hours ago (or at the start of a younger history). */
export interface Market {
  asset: string;
  bid: string | null;
  price_24h: string | null;
  price_24h_time: number | null;
  change_24h: string | null;
}

/** Which of the trader's accounts: play money or real money. */
export type AccountKind = "demo" | "live";

/** GET /account: the account requests act on when they name none, and which accounts are open. */
export interface Accounts {
  active: AccountKind;
  accounts: { account: AccountKind; open: boolean }[];
}

export interface Balance {
  currency: string;
  balance: string;
  equity: string;
  used_margin: string;
  free_margin: string;
  margin_level: string | null;
  unrealized_pnl: string;
}

export type Side = "long" | "short";
export type OrderType = "market" | "limit" | "stop";

export interface Position {
  order_id: number;
  asset: string;
  side: Side;
  margin: string;
  leverage: number;
  quantity: string;
  open_price: string;
  take_profit: string | null;
  stop_loss: string | null;
  trailing_distance: string | null;
  liquidation_price: string;
  unrealized_pnl: string;
  opened_at: string;
}

export interface PendingOrder {
  order_id: number;
  asset: string;
  side: Side;
  order_type: OrderType;
  price: string;
  margin: string;
  leverage: number;
  take_profit: string | null;
  stop_loss: string | null;
  trailing_distance: string | null;
  expires_at: string | null;
  placed_at: string;
}

export interface OpenOrders {
  positions: Position[];
  pending: PendingOrder[];
}

export interface ClosedTrade {
  order_id: number;
  asset: string;
  side: Side;
  margin: string;
  leverage: number;
  quantity: string;
  open_price: string;
  close_price: string;
  pnl: string;
  close_reason: string;
  opened_at: string | null;
  closed_at: string;
  remaining_quantity: string;
}

export interface ClosedPage {
  items: ClosedTrade[];
  next_cursor: string | null;
}

export interface CreateOrder {
  asset: string;
  side: Side;
  margin: string;
  leverage: number;
  order_type: OrderType;
  price?: string;
  take_profit?: string;
  stop_loss?: string;
  trailing_distance?: string;
}

export interface CreateOrderOut {
  order_id: number;
  status: "open" | "pending";
  position?: Position | null;
  order?: PendingOrder | null;
}

export interface Candle {
  time: number;
  open: string | number;
  high: string | number;
  low: string | number;
  close: string | number;
  volume?: string | number;
  trades?: number;
}

/** An order event on the websocket's `orders` channel. */
export interface OrderEvent {
  event: string;
  order_id: number;
  asset?: string;
  side?: Side;
  margin?: string;
  leverage?: number;
  quantity?: string;
  open_price?: string;
  liquidation_price?: string;
  close_price?: string;
  close_reason?: string;
  pnl?: string;
  remaining_quantity?: string;
  order_type?: string;
  price?: string;
  mark?: string;
  margin_level?: string;
  margin_call_level?: string;
  at?: string;
}

/** A live API key as the list shows it: never its secret. */
/** How a key signs: HMAC with a secret the server keeps sealed, or Ed25519 with a private key only its owner holds. */
export type ApiKeyKind = "hmac" | "ed25519";

export interface ApiKey {
  key_id: number;
  api_key: string;
  kind: ApiKeyKind;
  label: string;
  scopes: ("read" | "trade")[];
  ip_allowlist: string[];
  created_at: string;
  last_used_at: string | null;
}

/** A key just made: the only answer that carries an HMAC key's secret (an Ed25519 key has none). */
export interface ApiKeyCreated {
  key_id: number;
  api_key: string;
  kind: ApiKeyKind;
  secret?: string;
}

export interface NewApiKey {
  label: string;
  scopes: ("read" | "trade")[];
  ip_allowlist: string[];
  /** An Ed25519 public key (PEM or the base64 of its 32 bytes); absent for an HMAC key. */
  public_key?: string;
}
