// Pending limit and stop entries, each with Cancel.
import { ApiError, api } from "../api";
import { h } from "../dom";
import { grouped, sideLabel, time } from "../format";
import { store } from "../store";
import type { PendingOrder } from "../types";

export function pendingPanel(): HTMLElement {
  const body = h("tbody");
  const empty = h("p", { class: "empty muted" }, "No pending orders. Choose Limit or Stop in the ticket to place one.");
  const table = h(
    "table",
    { class: "grid", "aria-label": "Pending orders" },
    h("thead", {}, h("tr", {}, ...["Symbol", "Side", "Type", "Price", "Margin", "T/P", "S/L", "Placed", ""].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  let signature = "";
  store.portfolio.on(() => {
    const next = JSON.stringify(store.pending.map((o) => o.order_id));
    if (next === signature) return;
    signature = next;
    body.replaceChildren(...store.pending.map(pendingRow));
    empty.hidden = store.pending.length > 0;
    table.hidden = store.pending.length === 0;
  });
  table.hidden = true;
  return h("div", { class: "tab-body" }, empty, h("div", { class: "table-scroll" }, table));
}

function pendingRow(order: PendingOrder): HTMLTableRowElement {
  const cancel = h("button", { type: "button", class: "btn btn-sm btn-close" }, "Cancel");
  cancel.addEventListener("click", () => {
    cancel.disabled = true;
    api
      .cancel(order.order_id)
      .then(() => {
        if (store.once(`cancel:${order.order_id}`)) store.notify("info", `Order #${order.order_id} cancelled`, `${sideLabel(order.side)} ${order.asset} ${order.order_type} at ${grouped(order.price)}`);
        return store.refresh();
      })
      .catch((error: unknown) => {
        store.notify("error", "Cancel failed", error instanceof ApiError ? error.message : String(error));
        cancel.disabled = false;
      });
  });
  return h(
    "tr",
    { "data-order-id": order.order_id },
    h("td", {}, h("strong", {}, order.asset), h("small", { class: "muted id" }, ` #${order.order_id}`)),
    h("td", { class: order.side === "long" ? "up" : "down" }, `${sideLabel(order.side)} ${order.leverage}×`),
    h("td", {}, order.order_type),
    h("td", { class: "num" }, grouped(order.price)),
    h("td", { class: "num" }, grouped(order.margin)),
    h("td", { class: "num" }, grouped(order.take_profit)),
    h("td", { class: "num" }, grouped(order.stop_loss)),
    h("td", { class: "muted" }, time(order.placed_at)),
    h("td", { class: "actions-cell" }, h("div", { class: "actions" }, cancel)),
  );
}
