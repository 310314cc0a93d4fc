// The asset list: live bid, ask and the change over 24 hours; choosing one drives the chart and the ticket.
import { h, setText } from "../dom";
import { percent, price, tone } from "../format";
import { store } from "../store";
import type { Asset } from "../types";

interface Row {
  button: HTMLButtonElement;
  bid: HTMLElement;
  ask: HTMLElement;
  change: HTMLElement;
  last: number;
}

export function marketsPanel(): HTMLElement {
  const rows = new Map<string, Row>();
  const list = h("ul", { class: "market-list" });
  for (const asset of store.assets) {
    const row = marketRow(asset);
    rows.set(asset.symbol, row);
    list.append(h("li", {}, row.button));
  }
  markSelected(rows);
  store.selection.on(() => markSelected(rows));
  store.quote.on((quote) => {
    const row = rows.get(quote.asset);
    const asset = store.asset(quote.asset);
    if (!row || !asset) return;
    const bid = Number(quote.bid);
    setText(row.bid, price(bid, asset.price_decimals));
    setText(row.ask, price(Number(quote.ask), asset.price_decimals));
    const change = store.change24h(quote.asset, bid);
    setText(row.change, change === null ? "—" : percent(change));
    row.change.className = `chg ${change === null ? "flat" : tone(change)}`;
    if (row.last && bid !== row.last) {
      const dir = bid > row.last ? "tick-up" : "tick-down";
      row.bid.classList.remove("tick-up", "tick-down");
      void row.bid.offsetWidth; // restart the flash
      row.bid.classList.add(dir);
    }
    row.last = bid;
  });
  return h(
    "section",
    { class: "panel markets", "aria-labelledby": "markets-title" },
    h("h2", { id: "markets-title", class: "panel-title" }, "Markets"),
    h("div", { class: "market-head", "aria-hidden": "true" }, h("span", {}, "Symbol"), h("span", {}, "Bid"), h("span", {}, "Ask"), h("span", { title: "Change over 24 hours" }, "24h")),
    list,
  );
}

function marketRow(asset: Asset): Row {
  const bid = h("span", { class: "px bid", "data-field": "bid" }, "—");
  const ask = h("span", { class: "px ask", "data-field": "ask" }, "—");
  const change = h("span", { class: "chg flat", "data-field": "change" }, "—");
  const button = h(
    "button",
    { type: "button", class: "market-row", "data-asset": asset.symbol, onclick: () => store.select(asset.symbol) },
    h("span", { class: "sym" }, h("strong", {}, asset.symbol), h("small", {}, asset.name)),
    bid,
    ask,
    change,
  );
  return { button, bid, ask, change, last: 0 };
}

function markSelected(rows: Map<string, Row>): void {
  for (const [symbol, row] of rows) {
    row.button.setAttribute("aria-pressed", String(symbol === store.selected));
  }
}
