// What the websocket's order events mean to the trader: a notice, and fresh numbers.
import { grouped, reasonLabel } from "./format";
import { store } from "./store";
import type { OrderEvent } from "./types";

function describe(event: OrderEvent): void {
  const id = `#${event.order_id}`;
  switch (event.event) {
    case "position_opened":
      if (store.once(`open:${event.order_id}`)) {
        store.notify("success", `${event.side === "long" ? "Bought" : "Sold"} ${event.quantity ?? ""} ${event.asset ?? ""}`, `Filled at ${grouped(event.open_price)} · ${id}`);
      }
      break;
    case "position_closed": {
      if (store.once(`close:${event.order_id}:${event.remaining_quantity ?? ""}`)) {
        const partial = Number(event.remaining_quantity ?? "0") > 0;
        const reason = event.close_reason && event.close_reason !== "closed" ? ` by ${reasonLabel(event.close_reason).toLowerCase()}` : "";
        store.notify(Number(event.pnl) >= 0 ? "success" : "warning", `${partial ? "Partially closed" : "Closed"} ${event.asset ?? ""} ${id}${reason}`, `${event.quantity ?? ""} at ${grouped(event.close_price)} · P/L ${grouped(event.pnl)}`);
      }
      store.closed.emit(null);
      break;
    }
    case "liquidated":
      store.notify("error", `Liquidated: ${event.asset ?? ""} ${id}`, `Stopped out at ${grouped(event.close_price)} · P/L ${grouped(event.pnl)}`);
      store.closed.emit(null);
      break;
    case "margin_call":
      store.marginCalls.set(event.order_id, event.margin_level ?? "");
      store.notify("warning", `Margin call: ${event.asset ?? ""} ${id}`, `Equity at ${event.margin_level ?? ""}% of the margin at a mark of ${grouped(event.mark)} (call level ${event.margin_call_level ?? ""}%). Close or reduce it before it is liquidated.`);
      break;
    case "order_placed":
      if (store.once(`placed:${event.order_id}`)) store.notify("info", `${event.order_type ?? ""} order placed`, `${event.asset ?? ""} at ${grouped(event.price)} · ${id}`);
      break;
    case "order_cancelled":
      if (store.once(`cancel:${event.order_id}`)) store.notify("info", `Order ${id} cancelled`, "");
      break;
    case "order_expired":
      store.notify("warning", `Order ${id} expired`, "");
      break;
    case "order_rejected":
      store.notify("error", `Order ${id} rejected`, "The engine refused the pending entry when it triggered.");
      break;
    default:
      break;
  }
}

export function followOrders(): void {
  store.orderEvent.on((event) => {
    describe(event);
    void store.refresh().catch(() => undefined);
  });
}
