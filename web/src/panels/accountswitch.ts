// The account switch: a badge that always says which account is shown (DEMO or LIVE), and the
// two buttons that switch between them; live stays disabled until the live account is open.
import { ApiError } from "../api";
import { h, setText } from "../dom";
import { store } from "../store";
import type { AccountKind } from "../types";

const KINDS: AccountKind[] = ["demo", "live"];
const RECHECK_MS = 15_000; // the live account opens when KYC is submitted, perhaps elsewhere

export function accountSwitch(): HTMLElement {
  const badge = h("span", { class: "badge", "data-account": "demo", role: "status", "aria-label": "Active account" }, "DEMO");
  const buttons = new Map<AccountKind, HTMLButtonElement>();
  const group = h("div", { class: "account-switch", role: "group", "aria-label": "Account" });
  for (const kind of KINDS) {
    const button = h("button", { type: "button", class: "btn btn-ghost btn-sm", "data-account": kind, "aria-pressed": "false" }, kind === "demo" ? "Demo" : "Live");
    button.addEventListener("click", () => void switchTo(kind));
    buttons.set(kind, button);
    group.append(button);
  }

  async function switchTo(kind: AccountKind): Promise<void> {
    if (store.accounts?.active === kind) return;
    for (const button of buttons.values()) button.disabled = true;
    try {
      await store.switchTo(kind);
    } catch (error) {
      store.notify("error", "Could not switch", error instanceof ApiError ? error.message : String(error));
      if (store.accounts) store.accountsChanged.emit(store.accounts);
    }
  }

  store.accountsChanged.on((accounts) => {
    badge.dataset.account = accounts.active;
    badge.className = `badge badge-${accounts.active}`;
    setText(badge, accounts.active.toUpperCase());
    for (const [kind, button] of buttons) {
      const open = store.isOpen(kind);
      button.disabled = !open;
      button.title = open ? "" : "Your live account opens when you submit your KYC";
      button.setAttribute("aria-pressed", String(kind === accounts.active));
      button.classList.toggle("active", kind === accounts.active);
    }
  });
  window.setInterval(() => {
    if (document.visibilityState === "visible" && !store.isOpen("live")) void store.loadAccounts().catch(() => undefined);
  }, RECHECK_MS);
  return h("div", { class: "account-kind" }, badge, group);
}
