// Display formatting only: the API's decimal strings are shown as they are, grouped for reading.

const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** A decimal string with thousands grouping and its own number of decimals. */
export function grouped(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const negative = value.startsWith("-");
  const [whole = "0", fraction] = (negative ? value.slice(1) : value).split(".");
  const groupedWhole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + groupedWhole + (fraction !== undefined ? "." + fraction : "");
}

/** A number of account currency, two decimals and a sign when asked. */
export function usd(value: number, signed = false): string {
  const text = money.format(Math.abs(value));
  if (value < 0) return "-" + text;
  return signed && value > 0 ? "+" + text : text;
}

/** A price with the asset's decimals. */
export function price(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function percent(value: number, signed = true): string {
  if (!Number.isFinite(value)) return "—";
  const text = Math.abs(value).toFixed(2) + "%";
  if (value < 0) return "-" + text;
  return signed && value > 0 ? "+" + text : text;
}

/** "up", "down" or "flat": the colour class of a signed amount. */
export function tone(value: number): "up" | "down" | "flat" {
  return value > 0 ? "up" : value < 0 ? "down" : "flat";
}

export function time(iso: string | null): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString("en-GB", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function sideLabel(side: string): string {
  return side === "long" ? "Buy" : "Sell";
}

export function reasonLabel(reason: string): string {
  const labels: Record<string, string> = {
    closed: "Closed",
    take_profit: "Take profit",
    stop_loss: "Stop loss",
    trailing_stop: "Trailing stop",
    liquidated: "Liquidated",
  };
  return labels[reason] ?? reason;
}
