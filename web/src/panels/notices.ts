// Notices: fills, closes, rejections (with the API's message) and liquidations.
import { h } from "../dom";
import { store } from "../store";

const LIFETIME_MS = { info: 6000, success: 6000, warning: 9000, error: 12_000 } as const;

export function noticesPanel(): HTMLElement {
  const polite = h("div", { class: "notices", role: "status", "aria-live": "polite", "aria-label": "Notices" });
  store.notice.on((notice) => {
    const dismiss = h("button", { type: "button", class: "notice-x", "aria-label": "Dismiss notice" }, "×");
    const item = h(
      "div",
      { class: `notice notice-${notice.kind}`, role: notice.kind === "error" ? "alert" : null },
      h("div", {}, h("strong", {}, notice.title), h("p", {}, notice.text)),
      dismiss,
    );
    const remove = (): void => item.remove();
    dismiss.addEventListener("click", remove);
    polite.prepend(item);
    while (polite.children.length > 5) polite.lastElementChild?.remove();
    window.setTimeout(remove, LIFETIME_MS[notice.kind]);
  });
  return polite;
}
