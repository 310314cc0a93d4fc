// The account bar: which account is shown (and the switch), balance, equity, margins and margin
// level; demo reset (on the demo account only), API keys, API docs, sign out.
import { ApiError, api } from "../api";
import { h, setText } from "../dom";
import { grouped, tone } from "../format";
import { stopLive } from "../live";
import { store } from "../store";
import { accountSwitch } from "./accountswitch";
import { apiKeysButton } from "./apikeys";
import type { Balance } from "../types";

interface Stat {
  key: keyof Balance;
  label: string;
}

const STATS: Stat[] = [
  { key: "balance", label: "Balance" },
  { key: "equity", label: "Equity" },
  { key: "unrealized_pnl", label: "Floating P/L" },
  { key: "used_margin", label: "Used margin" },
  { key: "free_margin", label: "Free margin" },
  { key: "margin_level", label: "Margin level" },
];

export function accountBar(): HTMLElement {
  const values = new Map<keyof Balance, HTMLElement>();
  const stats = h("dl", { class: "stats", "aria-label": "Account" });
  for (const stat of STATS) {
    const value = h("dd", { "data-stat": stat.key }, "—");
    values.set(stat.key, value);
    stats.append(h("div", { class: "stat" }, h("dt", {}, stat.label), value));
  }
  const status = h("span", { class: "conn conn-connecting", role: "status", title: "Live data" }, "Connecting");
  store.connection.on((state) => {
    status.className = `conn conn-${state}`;
    setText(status, state === "live" ? "Live" : state === "connecting" ? "Connecting" : "Reconnecting");
  });

  store.account.on((balance) => {
    for (const stat of STATS) {
      const cell = values.get(stat.key);
      if (!cell) continue;
      const raw = balance[stat.key];
      if (stat.key === "margin_level") {
        setText(cell, raw === null ? "—" : `${grouped(raw)}%`);
      } else {
        setText(cell, `${grouped(raw)}`);
      }
      if (stat.key === "unrealized_pnl") cell.className = tone(Number(raw));
    }
  });

  const reset = resetButton();
  store.accountsChanged.on((accounts) => {
    reset.hidden = accounts.active !== "demo"; // a live account holds real money: never reset
  });
  const user = h("span", { class: "user muted", title: store.user?.email ?? "" }, store.user?.email ?? "");
  const signOut = h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: signOutNow }, "Sign out");
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "◆"), "CryptoCFD", accountSwitch()),
    stats,
    h(
      "nav",
      { class: "top-actions", "aria-label": "Account actions" },
      status,
      reset,
      apiKeysButton(),
      h("a", { href: "/docs", class: "btn btn-ghost btn-sm", target: "_blank", rel: "noopener" }, "API docs"),
      user,
      signOut,
    ),
  );
}

function resetButton(): HTMLButtonElement {
  let armed = false;
  let timer = 0;
  const button = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Reset demo");
  button.addEventListener("click", () => {
    if (!armed) {
      armed = true;
      button.textContent = "Confirm reset";
      button.classList.add("btn-warn");
      timer = window.setTimeout(disarm, 4000);
      return;
    }
    window.clearTimeout(timer);
    disarm();
    button.disabled = true;
    api
      .resetDemo()
      .then(() => {
        store.notify("info", "Demo account reset", "Positions closed, orders cancelled, balance restored.");
        store.closed.emit(null);
        return store.refresh();
      })
      .catch((error: unknown) => store.notify("error", "Reset failed", error instanceof ApiError ? error.message : String(error)))
      .finally(() => {
        button.disabled = false;
      });
  });
  function disarm(): void {
    armed = false;
    button.textContent = "Reset demo";
    button.classList.remove("btn-warn");
  }
  return button;
}

function signOutNow(): void {
  stopLive();
  api
    .logout()
    .catch(() => undefined)
    .finally(() => location.assign("/"));
}
