// The order ticket: Buy or Sell with margin, leverage, order type, exits, and a preview.
import { ApiError, api } from "../api";
import { h, setText, uid } from "../dom";
import { grouped, price, usd } from "../format";
import { preview } from "../preview";
import { store } from "../store";
import type { CreateOrder, OrderType, Side } from "../types";

function field(label: string, input: HTMLInputElement, hint?: HTMLElement): HTMLElement {
  const id = input.id || uid("f");
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint);
}

function amountInput(name: string, placeholder = ""): HTMLInputElement {
  return h("input", { type: "text", inputmode: "decimal", name, autocomplete: "off", placeholder, spellcheck: "false" });
}

export function ticketPanel(): HTMLElement {
  let orderType: OrderType = "market";
  const heading = h("h2", { id: "ticket-title", class: "panel-title" }, "New order");
  const assetName = h("span", { class: "ticket-asset" }, store.selected);

  const types = (["market", "limit", "stop"] as const).map((value) =>
    h("button", { type: "button", class: "seg", "aria-pressed": String(value === orderType), "data-type": value, onclick: () => setType(value) }, value[0]!.toUpperCase() + value.slice(1)),
  );
  const priceInput = amountInput("price", "Entry price");
  const priceField = field("Price", priceInput);
  priceField.hidden = true;

  const margin = amountInput("margin", "USD");
  margin.value = "100";
  const leverage = h("input", { type: "range", name: "leverage", min: "1", max: "100", step: "1", value: "10" });
  const leverageValue = h("output", { class: "lev-value" }, "10×");
  const leverageId = uid("lev");
  leverage.id = leverageId;
  leverageValue.setAttribute("for", leverageId);
  const takeProfit = amountInput("take_profit", "Optional");
  const stopLoss = amountInput("stop_loss", "Optional");
  const trailing = amountInput("trailing_distance", "Optional, price distance");

  const size = h("dd", {}, "—");
  const notional = h("dd", {}, "—");
  const required = h("dd", {}, "—");
  const liqLong = h("dd", { class: "up" }, "—");
  const liqShort = h("dd", { class: "down" }, "—");
  const sellPrice = h("span", { class: "side-px", id: uid("sellpx") }, "—");
  const buyPrice = h("span", { class: "side-px", id: uid("buypx") }, "—");
  const spread = h("span", { class: "spread muted", title: "Spread" }, "");
  const sell = h("button", { type: "button", class: "btn side-btn sell", "aria-label": "Sell", "aria-describedby": sellPrice.id, onclick: () => submit("short") }, h("span", { class: "side-name" }, "Sell"), sellPrice);
  const buy = h("button", { type: "button", class: "btn side-btn buy", "aria-label": "Buy", "aria-describedby": buyPrice.id, onclick: () => submit("long") }, h("span", { class: "side-name" }, "Buy"), buyPrice);

  const form = h(
    "form",
    { class: "ticket-form", novalidate: true, onsubmit: (event: Event) => event.preventDefault() },
    h("div", { class: "segmented segmented-wide", role: "group", "aria-label": "Order type" }, ...types),
    priceField,
    field("Margin", margin, h("span", { class: "unit" }, "USD")),
    h("div", { class: "field" }, h("div", { class: "lev-head" }, h("label", { for: leverageId }, "Leverage"), leverageValue), leverage),
    h("div", { class: "field-row" }, field("Take profit", takeProfit), field("Stop loss", stopLoss)),
    field("Trailing distance", trailing),
    h(
      "dl",
      { class: "preview", "aria-label": "Order preview" },
      h("div", {}, h("dt", {}, "Position size"), size),
      h("div", {}, h("dt", {}, "Notional"), notional),
      h("div", {}, h("dt", {}, "Required margin"), required),
      h("div", {}, h("dt", {}, "Liq. price if Buy"), liqLong),
      h("div", {}, h("dt", {}, "Liq. price if Sell"), liqShort),
    ),
    h("div", { class: "side-buttons" }, sell, spread, buy),
  );

  function setType(value: OrderType): void {
    orderType = value;
    for (const button of types) button.setAttribute("aria-pressed", String(button.dataset.type === value));
    priceField.hidden = value === "market";
    if (value !== "market" && !priceInput.value) {
      const quote = store.quotes.get(store.selected);
      if (quote) priceInput.value = quote.bid;
    }
    update();
  }

  function entries(): [number, number] {
    const quote = store.quotes.get(store.selected);
    if (orderType !== "market" && Number(priceInput.value) > 0) {
      const entry = Number(priceInput.value);
      return [entry, entry];
    }
    return quote ? [Number(quote.ask), Number(quote.bid)] : [0, 0];
  }

  function update(): void {
    const asset = store.asset(store.selected);
    if (!asset) return;
    const quote = store.quotes.get(store.selected);
    if (quote) {
      setText(sellPrice, grouped(quote.bid));
      setText(buyPrice, grouped(quote.ask));
      setText(spread, price(Number(quote.ask) - Number(quote.bid), asset.price_decimals));
    }
    setText(leverageValue, `${leverage.value}×`);
    const [longEntry, shortEntry] = entries();
    const shown = preview(Number(margin.value), Number(leverage.value), longEntry, shortEntry, Number(asset.maintenance_margin));
    if (!shown) {
      for (const cell of [size, notional, required, liqLong, liqShort]) setText(cell, "—");
      return;
    }
    setText(size, `${shown.quantity.toFixed(asset.quantity_decimals)} ${asset.symbol}`);
    setText(notional, usd(shown.notional));
    setText(required, usd(shown.margin));
    setText(liqLong, price(shown.liquidationLong, asset.price_decimals));
    setText(liqShort, price(shown.liquidationShort, asset.price_decimals));
  }

  function onAsset(): void {
    const asset = store.asset(store.selected);
    setText(assetName, store.selected);
    if (!asset) return;
    leverage.max = String(asset.max_leverage);
    if (Number(leverage.value) > asset.max_leverage) leverage.value = String(asset.max_leverage);
    priceInput.value = "";
    takeProfit.value = "";
    stopLoss.value = "";
    trailing.value = "";
    setType(orderType);
  }

  async function submit(side: Side): Promise<void> {
    const order: CreateOrder = {
      asset: store.selected,
      side,
      margin: margin.value.trim(),
      leverage: Number(leverage.value),
      order_type: orderType,
    };
    if (orderType !== "market") order.price = priceInput.value.trim();
    if (takeProfit.value.trim()) order.take_profit = takeProfit.value.trim();
    if (stopLoss.value.trim()) order.stop_loss = stopLoss.value.trim();
    if (trailing.value.trim()) order.trailing_distance = trailing.value.trim();
    sell.disabled = buy.disabled = true;
    try {
      const result = await api.create(order);
      if (result.status === "open" && result.position) {
        const p = result.position;
        if (store.once(`open:${p.order_id}`)) store.notify("success", `${side === "long" ? "Bought" : "Sold"} ${p.quantity} ${p.asset}`, `Filled at ${grouped(p.open_price)} · #${p.order_id}`);
      } else if (store.once(`placed:${result.order_id}`)) {
        store.notify("info", `${orderType === "limit" ? "Limit" : "Stop"} order placed`, `${side === "long" ? "Buy" : "Sell"} ${order.asset} at ${grouped(order.price)} · #${result.order_id}`);
      }
      await store.refresh();
    } catch (error) {
      const message = error instanceof ApiError ? error.message : String(error);
      store.notify("error", "Order rejected", message);
    } finally {
      sell.disabled = buy.disabled = false;
    }
  }

  for (const input of [margin, leverage, priceInput]) input.addEventListener("input", update);
  store.selection.on(onAsset);
  store.quote.on((quote) => {
    if (quote.asset === store.selected) update();
  });
  queueMicrotask(onAsset);

  return h("section", { class: "panel ticket", "aria-labelledby": "ticket-title" }, h("div", { class: "panel-head" }, heading, assetName), form);
}
