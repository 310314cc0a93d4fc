// The API keys dialog: make a key for a program (an HMAC key's secret shown this once, to copy;
// or an Ed25519 key from a pasted public key, with no secret at all), list the live ones,
// revoke one. Signing requests is in the API docs.
import { ApiError, api } from "../api";
import { h, setText, uid } from "../dom";
import type { ApiKey, ApiKeyCreated } from "../types";

export function apiKeysButton(): HTMLElement {
  const dialog = apiKeysDialog();
  const open = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "API keys");
  open.addEventListener("click", () => {
    document.body.append(dialog.element);
    dialog.element.showModal();
    void dialog.reload();
  });
  return open;
}

interface Dialog {
  element: HTMLDialogElement;
  reload: () => Promise<void>;
}

function apiKeysDialog(): Dialog {
  const titleId = uid("apikeys-title");
  const problem = h("p", { class: "form-error", role: "alert" });
  const rows = h("tbody");
  const empty = h("p", { class: "muted" }, "No API keys yet.");
  const table = h(
    "table",
    { class: "keys-table", "aria-label": "Live API keys" },
    h("thead", {}, h("tr", {}, ...["Label", "Key", "Kind", "Scopes", "Allowed from", "Last used", ""].map((t) => h("th", { scope: "col" }, t)))),
    rows,
  );
  const secret = secretBox();
  const form = newKeyForm(async (created) => {
    secret.show(created);
    await reload();
  }, problem);

  async function reload(): Promise<void> {
    setText(problem, "");
    try {
      const { keys } = await api.apiKeys();
      rows.replaceChildren(...keys.map((key) => keyRow(key, reload, problem)));
      table.hidden = keys.length === 0;
      empty.hidden = keys.length > 0;
    } catch (error) {
      setText(problem, error instanceof ApiError ? error.message : String(error));
    }
  }

  const element = h(
    "dialog",
    { class: "keys-dialog", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "API keys"),
    h(
      "p",
      { class: "muted" },
      "Programs trade with a key: each request is signed with its secret, or with your Ed25519 private key if you paste its public key (see the API docs). A read key sees balance, positions and history; a trade key also trades. No key can move money.",
    ),
    form,
    secret.element,
    problem,
    empty,
    table,
    h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "btn btn-ghost", onclick: () => close() }, "Close")),
  );
  function close(): void {
    secret.hide(); // the secret is never shown again, not even on reopening
    element.close();
  }
  element.addEventListener("cancel", () => secret.hide());
  return { element, reload };
}

function newKeyForm(onCreated: (created: ApiKeyCreated) => Promise<void>, problem: HTMLElement): HTMLFormElement {
  const label = h("input", { type: "text", name: "label", required: true, maxlength: 64, placeholder: "grid bot" });
  const trade = h("input", { type: "checkbox", name: "trade" });
  const allowlist = h("textarea", { name: "ip_allowlist", rows: 2, placeholder: "203.0.113.7\n198.51.100.0/24" });
  const publicKey = h("textarea", {
    name: "public_key",
    rows: 3,
    maxlength: 512,
    spellcheck: "false",
    placeholder: "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----",
  });
  const create = h("button", { type: "submit", class: "btn btn-primary" }, "Create key");
  const form = h(
    "form",
    { class: "keys-form", "aria-label": "New API key" },
    field("Label", label),
    h("label", { class: "check" }, h("input", { type: "checkbox", checked: true, disabled: true }), " Read"),
    h("label", { class: "check" }, trade, " Trade"),
    field("Allowed from (optional, one address or network a line)", allowlist),
    field("Ed25519 public key (optional: PEM or base64; empty for a key with a secret)", publicKey),
    create,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setText(problem, "");
    create.disabled = true;
    const entries = allowlist.value.split(/[\s,]+/).filter((entry) => entry !== "");
    const pasted = publicKey.value.trim();
    api
      .createApiKey({
        label: label.value.trim(),
        scopes: trade.checked ? ["read", "trade"] : ["read"],
        ip_allowlist: entries,
        ...(pasted === "" ? {} : { public_key: pasted }),
      })
      .then(async (created) => {
        form.reset();
        await onCreated(created);
      })
      .catch((error: unknown) => setText(problem, error instanceof ApiError ? error.message : String(error)))
      .finally(() => {
        create.disabled = false;
      });
  });
  return form;
}

function field(text: string, control: HTMLElement): HTMLElement {
  const id = uid("field");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

interface SecretBox {
  element: HTMLElement;
  show: (created: ApiKeyCreated) => void;
  hide: () => void;
}

function secretBox(): SecretBox {
  const key = h("input", { type: "text", readonly: true, "aria-label": "Your API key" });
  const secret = h("input", { type: "text", readonly: true, "aria-label": "Your secret" });
  const secretRow = copyRow("Secret", "Copy secret", secret);
  const hmacNote = h("p", {}, h("strong", {}, "Copy the secret now: it is shown only this once."), " The platform keeps it sealed and cannot show it again.");
  const ed25519Note = h("p", {}, h("strong", {}, "Ed25519 key made."), " Sign each request with your private key; the platform holds no secret for this key.");
  const element = h("section", { class: "secret-box", hidden: true, "aria-live": "polite" }, hmacNote, ed25519Note, copyRow("API key", "Copy key", key), secretRow);
  return {
    element,
    show(created) {
      const hasSecret = created.secret !== undefined;
      key.value = created.api_key;
      secret.value = created.secret ?? "";
      hmacNote.hidden = secretRow.hidden = !hasSecret;
      ed25519Note.hidden = hasSecret;
      element.hidden = false;
    },
    hide() {
      key.value = "";
      secret.value = "";
      element.hidden = true;
    },
  };
}

function copyRow(text: string, action: string, input: HTMLInputElement): HTMLElement {
  const copy = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, action);
  copy.addEventListener("click", () => {
    input.select();
    void navigator.clipboard?.writeText(input.value).then(() => setText(copy, "Copied"));
  });
  return h("div", { class: "copy-row" }, h("span", { class: "muted" }, text), input, copy);
}

function keyRow(key: ApiKey, reload: () => Promise<void>, problem: HTMLElement): HTMLElement {
  const revoke = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Revoke");
  let armed = false;
  revoke.addEventListener("click", () => {
    if (!armed) {
      armed = true;
      setText(revoke, "Confirm revoke");
      revoke.classList.add("btn-warn");
      return;
    }
    revoke.disabled = true;
    api
      .revokeApiKey(key.key_id)
      .then(reload)
      .catch((error: unknown) => setText(problem, error instanceof ApiError ? error.message : String(error)));
  });
  return h(
    "tr",
    { "data-key-id": key.key_id },
    h("td", {}, key.label),
    h("td", { class: "mono" }, key.api_key),
    h("td", {}, key.kind === "ed25519" ? "Ed25519" : "HMAC"),
    h("td", {}, key.scopes.join(", ")),
    h("td", {}, key.ip_allowlist.length ? key.ip_allowlist.join(", ") : "anywhere"),
    h("td", {}, key.last_used_at ? key.last_used_at.slice(0, 16).replace("T", " ") : "never"),
    h("td", {}, revoke),
  );
}
