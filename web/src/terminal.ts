// The terminal page: every panel in its place, data loaded, live connection started.
import { api } from "./api";
import { h } from "./dom";
import { startLive } from "./live";
import { followOrders } from "./orders";
import { accountBar } from "./panels/account";
import { blotterPanel } from "./panels/blotter";
import { chartPanel } from "./panels/chart";
import { marketsPanel } from "./panels/markets";
import { noticesPanel } from "./panels/notices";
import { ticketPanel } from "./panels/ticket";
import { store } from "./store";

const POLL_MS = 2000;
const MARKETS_MS = 60_000; // the 24-hour reference moves a minute at a time

export async function terminalPage(): Promise<HTMLElement> {
  const [assets, quotes, accounts] = await Promise.all([
    api.assets(),
    api.latestPrices().catch(() => []),
    api.accounts(),
    store.loadMarkets().catch(() => undefined),
  ]);
  store.assets = assets;
  if (!assets.some((a) => a.symbol === store.selected) && assets[0]) store.selected = assets[0].symbol;

  const page = h(
    "div",
    { class: "terminal-page" },
    accountBar(),
    h("main", { class: "terminal" }, marketsPanel(), chartPanel(), ticketPanel(), blotterPanel()),
    noticesPanel(),
  );
  followOrders();
  queueMicrotask(() => {
    store.showAccounts(accounts); // the panels listen by now; every call acts on the active one

    for (const quote of quotes) store.setQuote(quote);
    void store.refresh().catch(() => undefined);
    startLive();
    window.setInterval(() => void store.loadMarkets().catch(() => undefined), MARKETS_MS);
    // Equity and margin move with prices: the server's numbers, refreshed.
    window.setInterval(() => {
      if (document.visibilityState === "visible") void store.refresh().catch(() => undefined);
    }, POLL_MS);
  });
  return page;
}
