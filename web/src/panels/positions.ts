// Open positions: live PnL on every tick, modify exits, partial close and close.
import { ApiError, api } from "../api";
import { h, setText } from "../dom";
import { grouped, price, sideLabel, tone, usd } from "../format";
import { livePnl } from "../preview";
import { store } from "../store";
import type { Position } from "../types";

interface Row {
  position: Position;
  current: HTMLElement;
  pnl: HTMLElement;
}

const FRACTIONS: [string, string][] = [
  ["1", "100%"],
  ["0.75", "75%"],
  ["0.5", "50%"],
  ["0.25", "25%"],
];

export function positionsPanel(): HTMLElement {
  const rows = new Map<number, Row>();
  const body = h("tbody");
  const empty = h("p", { class: "empty muted" }, "No open positions. Use the ticket to Buy or Sell.");
  const table = h(
    "table",
    { class: "grid", "aria-label": "Open positions" },
    h("thead", {}, h("tr", {}, ...["Symbol", "Side", "Size", "Margin", "Open", "Current", "T/P", "S/L", "Liq.", "P/L", ""].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  let signature = "";

  function render(): void {
    const next = JSON.stringify(store.positions.map((p) => [p.order_id, p.quantity, p.take_profit, p.stop_loss, p.trailing_distance, p.liquidation_price, store.marginCalls.get(p.order_id)]));
    if (next === signature) {
      for (const position of store.positions) {
        const row = rows.get(position.order_id);
        if (row) row.position = position;
      }
      return;
    }
    signature = next;
    rows.clear();
    body.replaceChildren();
    for (const position of store.positions) {
      const row = positionRow(position);
      rows.set(position.order_id, row.row);
      body.append(row.tr, row.editor);
      paint(row.row);
    }
    empty.hidden = store.positions.length > 0;
    table.hidden = store.positions.length === 0;
  }

  function paint(row: Row): void {
    const quote = store.quotes.get(row.position.asset);
    const asset = store.asset(row.position.asset);
    if (!quote || !asset) {
      setText(row.pnl, grouped(row.position.unrealized_pnl));
      row.pnl.className = `num ${tone(Number(row.position.unrealized_pnl))}`;
      return;
    }
    const p = row.position;
    const closing = p.side === "long" ? Number(quote.bid) : Number(quote.ask);
    setText(row.current, price(closing, asset.price_decimals));
    const value = livePnl(p.side, Number(p.open_price), Number(p.quantity), Number(quote.bid), Number(quote.ask), Number(p.margin));
    setText(row.pnl, usd(value, true));
    row.pnl.className = `num pnl ${tone(value)}`;
  }

  store.portfolio.on(render);
  store.quote.on((quote) => {
    for (const row of rows.values()) if (row.position.asset === quote.asset) paint(row);
  });
  render();
  return h("div", { class: "tab-body" }, empty, h("div", { class: "table-scroll" }, table));
}

function positionRow(position: Position): { row: Row; tr: HTMLTableRowElement; editor: HTMLTableRowElement } {
  const current = h("td", { class: "num" }, "—");
  const pnl = h("td", { class: "num pnl" }, "—");
  const fraction = h("select", { "aria-label": "Close amount", class: "fraction" }, ...FRACTIONS.map(([value, label]) => h("option", { value }, label)));
  const close = h("button", { type: "button", class: "btn btn-sm btn-close" }, "Close");
  const modify = h("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-expanded": "false" }, "Modify");
  const tr = h(
    "tr",
    { "data-order-id": position.order_id, "data-side": position.side },
    h("td", {}, h("strong", {}, position.asset), h("small", { class: "muted id" }, ` #${position.order_id}`), marginCallBadge(position.order_id)),
    h("td", { class: position.side === "long" ? "up" : "down" }, `${sideLabel(position.side)} ${position.leverage}×`),
    h("td", { class: "num" }, grouped(position.quantity)),
    h("td", { class: "num" }, grouped(position.margin)),
    h("td", { class: "num" }, grouped(position.open_price)),
    current,
    h("td", { class: "num" }, grouped(position.take_profit)),
    h("td", { class: "num" }, grouped(position.stop_loss) + (position.trailing_distance ? ` (trail ${grouped(position.trailing_distance)})` : "")),
    h("td", { class: "num muted" }, grouped(position.liquidation_price)),
    pnl,
    h("td", { class: "actions-cell" }, h("div", { class: "actions" }, modify, fraction, close)),
  );
  const editor = modifyEditor(position);
  editor.hidden = true;
  modify.addEventListener("click", () => {
    editor.hidden = !editor.hidden;
    modify.setAttribute("aria-expanded", String(!editor.hidden));
    if (!editor.hidden) editor.querySelector("input")?.focus();
  });
  close.addEventListener("click", () => {
    const value = fraction.value === "1" ? undefined : fraction.value;
    close.disabled = true;
    api
      .close(position.order_id, value)
      .then((closed) => {
        if (store.once(`close:${closed.order_id}:${closed.remaining_quantity}`)) {
          const partial = Number(closed.remaining_quantity) > 0;
          store.notify(Number(closed.pnl) >= 0 ? "success" : "warning", `${partial ? "Partially closed" : "Closed"} ${closed.asset} #${closed.order_id}`, `${closed.quantity} at ${grouped(closed.close_price)} · P/L ${grouped(closed.pnl)}`);
        }
        store.closed.emit(closed);
        return store.refresh();
      })
      .catch((error: unknown) => store.notify("error", "Close failed", error instanceof ApiError ? error.message : String(error)))
      .finally(() => {
        close.disabled = false;
      });
  });
  return { row: { position, current, pnl }, tr, editor };
}

/** The margin-call notice on a position's row, once the websocket told of one. */
function marginCallBadge(orderId: number): HTMLElement | null {
  const level = store.marginCalls.get(orderId);
  if (level === undefined) return null;
  return h("span", { class: "badge margin-call", role: "status", title: `Equity at ${level}% of the margin` }, "Margin call");
}

function modifyEditor(position: Position): HTMLTableRowElement {
  const input = (label: string, value: string | null): [HTMLElement, HTMLInputElement] => {
    const id = `mod-${position.order_id}-${label.replace(/\W+/g, "-").toLowerCase()}`;
    const control = h("input", { id, type: "text", inputmode: "decimal", value: value ?? "", placeholder: "none" });
    return [h("div", { class: "field field-inline" }, h("label", { for: id }, label), control), control];
  };
  const [tpField, tp] = input("New take profit", position.take_profit);
  const [slField, sl] = input("New stop loss", position.stop_loss);
  const [trField, tr] = input("New trailing distance", position.trailing_distance);
  const save = h("button", { type: "submit", class: "btn btn-sm btn-primary" }, "Save");
  const form = h("form", { class: "modify-form", "aria-label": `Modify position ${position.order_id}` }, tpField, slField, trField, save, h("span", { class: "muted small" }, "Empty removes it."));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (control: HTMLInputElement): string | null => control.value.trim() || null;
    save.disabled = true;
    api
      .modify(position.order_id, { take_profit: value(tp), stop_loss: value(sl), trailing_distance: value(tr) })
      .then(() => {
        store.notify("info", `Position #${position.order_id} modified`, "New exits are in force.");
        return store.refresh();
      })
      .catch((error: unknown) => store.notify("error", "Modify rejected", error instanceof ApiError ? error.message : String(error)))
      .finally(() => {
        save.disabled = false;
      });
  });
  return h("tr", { class: "editor-row" }, h("td", { colspan: "11" }, form));
}
