// The lower panel: tabs for open positions, pending orders and history.
import { h } from "../dom";
import { store } from "../store";
import { historyPanel } from "./history";
import { pendingPanel } from "./pending";
import { positionsPanel } from "./positions";

type Tab = "positions" | "pending" | "history";

export function blotterPanel(): HTMLElement {
  const history = historyPanel();
  const bodies: Record<Tab, HTMLElement> = { positions: positionsPanel(), pending: pendingPanel(), history: history.element };
  const labels: Record<Tab, string> = { positions: "Positions", pending: "Pending", history: "History" };
  const counts: Partial<Record<Tab, HTMLElement>> = {};
  const tabs = (Object.keys(bodies) as Tab[]).map((tab) => {
    const count = tab === "history" ? null : h("span", { class: "count" }, "0");
    if (count) counts[tab] = count;
    const button = h("button", { type: "button", role: "tab", id: `tab-${tab}`, "aria-controls": `tabpanel-${tab}`, class: "tab", onclick: () => choose(tab) }, labels[tab], count);
    bodies[tab].id = `tabpanel-${tab}`;
    bodies[tab].setAttribute("role", "tabpanel");
    bodies[tab].setAttribute("aria-labelledby", `tab-${tab}`);
    return button;
  });

  function choose(tab: Tab): void {
    for (const button of tabs) button.setAttribute("aria-selected", String(button.id === `tab-${tab}`));
    for (const [name, body] of Object.entries(bodies)) body.hidden = name !== tab;
    history.show(tab === "history");
  }

  store.portfolio.on(() => {
    counts.positions!.textContent = String(store.positions.length);
    counts.pending!.textContent = String(store.pending.length);
  });
  choose("positions");
  return h("section", { class: "panel blotter", "aria-label": "Orders" }, h("div", { class: "tabs", role: "tablist" }, ...tabs), ...Object.values(bodies));
}
