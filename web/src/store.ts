// What the terminal knows: assets, quotes, the account and its orders; panels listen to changes.
import { actOn, actingOn, api } from "./api";
import { Signal } from "./signal";
import type { AccountKind, Accounts, Asset, Balance, ClosedTrade, OrderEvent, PendingOrder, Position, Quote, User } from "./types";

export type NoticeKind = "info" | "success" | "error" | "warning";

export interface Notice {
  kind: NoticeKind;
  title: string;
  text: string;
}

class Store {
  user: User | null = null;
  assets: Asset[] = [];
  readonly quotes = new Map<string, Quote>();
  /** Each asset's bid 24 hours ago, from the candle store (GET /markets): its change's reference. */
  readonly reference = new Map<string, number>();
  selected = "BTC";
  balance: Balance | null = null;
  positions: Position[] = [];
  pending: PendingOrder[] = [];
  accounts: Accounts | null = null;
  /** Positions told of a margin call in this session: order id -> the equity's share of the margin, in %. */
  readonly marginCalls = new Map<number, string>();

  readonly quote = new Signal<Quote>();
  readonly selection = new Signal<string>();
  readonly portfolio = new Signal<void>();
  readonly account = new Signal<Balance>();
  readonly orderEvent = new Signal<OrderEvent>();
  readonly closed = new Signal<ClosedTrade | null>();
  readonly notice = new Signal<Notice>();
  readonly connection = new Signal<"live" | "connecting" | "offline">();
  /** The trader's accounts changed: another one is active, or the live one opened. */
  readonly accountsChanged = new Signal<Accounts>();

  private readonly told = new Set<string>();
  private refreshing: Promise<void> | null = null;
  private again = false;

  asset(symbol: string): Asset | undefined {
    return this.assets.find((a) => a.symbol === symbol);
  }

  select(symbol: string): void {
    if (symbol === this.selected) return;
    this.selected = symbol;
    this.selection.emit(symbol);
  }

  setQuote(quote: Quote): void {
    this.quotes.set(quote.asset, quote);
    this.quote.emit(quote);
  }

  /** The change in percent of ``bid`` over 24 hours, or null while the reference is unknown. */
  change24h(symbol: string, bid: number): number | null {
    const reference = this.reference.get(symbol);
    return reference !== undefined && reference > 0 ? ((bid - reference) / reference) * 100 : null;
  }

  /** Reload every asset's price 24 hours ago. */
  async loadMarkets(): Promise<void> {
    for (const market of await api.markets()) {
      if (market.price_24h !== null) this.reference.set(market.asset, Number(market.price_24h));
    }
  }

  /** True the first time ``key`` is seen: a fill is told once, by HTTP or websocket. */
  once(key: string): boolean {
    if (this.told.has(key)) return false;
    this.told.add(key);
    return true;
  }

  notify(kind: NoticeKind, title: string, text: string): void {
    this.notice.emit({ kind, title, text });
  }

  /** Whether ``kind``'s account is open (the demo one always is). */
  isOpen(kind: AccountKind): boolean {
    return this.accounts?.accounts.some((a) => a.account === kind && a.open) ?? kind === "demo";
  }

  /** Reload which accounts exist and which is active, and act on the active one. */
  async loadAccounts(): Promise<void> {
    this.showAccounts(await api.accounts());
  }

  /** Make ``kind`` the active account, then reload everything shown for it. */
  async switchTo(kind: AccountKind): Promise<void> {
    this.showAccounts(await api.switchAccount(kind));
    this.positions = [];
    this.pending = [];
    this.portfolio.emit();
    this.closed.emit(null); // the history is the other account's: load it again
    await this.refresh();
  }

  /** Show ``accounts`` and act on the active one. */
  showAccounts(accounts: Accounts): void {
    this.accounts = accounts;
    actOn(accounts.active);
    this.accountsChanged.emit(accounts);
  }

  /** Reload the balance and open orders; overlapping calls coalesce into one more round. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        const kind = actingOn();
        const [balance, open] = await Promise.all([api.balance(), api.open()]);
        if (kind !== actingOn()) {
          this.again = true; // switched meanwhile: these figures are the other account's
          continue;
        }
        this.balance = balance;
        this.positions = open.positions;
        this.pending = open.pending;
        this.account.emit(balance);
        this.portfolio.emit();
      } while (this.again);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }
}

export const store = new Store();
