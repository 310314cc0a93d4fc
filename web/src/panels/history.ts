// Closed trades, newest first, a page at a time.
import { ApiError, api } from "../api";
import { h } from "../dom";
import { grouped, reasonLabel, sideLabel, time, tone } from "../format";
import { store } from "../store";
import type { ClosedTrade } from "../types";

const REFRESH_MS = 3000; // the journal lags the engine by a moment: look again while shown

export function historyPanel(): { element: HTMLElement; show: (visible: boolean) => void } {
  let cursor: string | null = null;
  let loading = false;
  let pages = 0;
  let timer = 0;
  const body = h("tbody");
  const empty = h("p", { class: "empty muted" }, "No closed trades yet.");
  const more = h("button", { type: "button", class: "btn btn-ghost btn-sm", hidden: true }, "Load more");
  const table = h(
    "table",
    { class: "grid", "aria-label": "Closed trades" },
    h("thead", {}, h("tr", {}, ...["Symbol", "Side", "Size", "Open", "Close", "P/L", "Reason", "Closed"].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  table.hidden = true;

  async function page(reset: boolean): Promise<void> {
    if (loading) return;
    loading = true;
    try {
      const result = await api.closed(reset ? null : cursor);
      if (reset) body.replaceChildren();
      pages = reset ? 1 : pages + 1;
      body.append(...result.items.map(historyRow));
      cursor = result.next_cursor;
      more.hidden = cursor === null;
      const any = body.children.length > 0;
      empty.hidden = any;
      table.hidden = !any;
    } catch (error) {
      store.notify("error", "History unavailable", error instanceof ApiError ? error.message : String(error));
    } finally {
      loading = false;
    }
  }

  more.addEventListener("click", () => void page(false));
  store.closed.on(() => {
    if (timer) void page(true);
  });
  const element = h("div", { class: "tab-body" }, empty, h("div", { class: "table-scroll" }, table), more);
  return {
    element,
    show: (visible) => {
      window.clearInterval(timer);
      timer = 0;
      if (!visible) return;
      void page(true);
      timer = window.setInterval(() => {
        if (pages <= 1 && document.visibilityState === "visible") void page(true);
      }, REFRESH_MS);
    },
  };
}

function historyRow(trade: ClosedTrade): HTMLTableRowElement {
  const pnl = Number(trade.pnl);
  return h(
    "tr",
    { "data-order-id": trade.order_id },
    h("td", {}, h("strong", {}, trade.asset), h("small", { class: "muted id" }, ` #${trade.order_id}`)),
    h("td", { class: trade.side === "long" ? "up" : "down" }, `${sideLabel(trade.side)} ${trade.leverage}×`),
    h("td", { class: "num" }, grouped(trade.quantity)),
    h("td", { class: "num" }, grouped(trade.open_price)),
    h("td", { class: "num" }, grouped(trade.close_price)),
    h("td", { class: `num pnl ${tone(pnl)}`, "data-pnl": trade.pnl }, grouped(trade.pnl)),
    h("td", { class: trade.close_reason === "liquidated" ? "down" : "" }, reasonLabel(trade.close_reason)),
    h("td", { class: "muted" }, time(trade.closed_at)),
  );
}
