// The order ticket's preview, for display only: the engine computes the real numbers.
//
// notional = margin × leverage; quantity = notional / entry price; the liquidation price is where
// the position's loss reaches (1 − maintenance) of its margin (DESIGN.md, "Margin").

export interface Preview {
  notional: number;
  quantity: number;
  margin: number;
  liquidationLong: number;
  liquidationShort: number;
}

export function preview(margin: number, leverage: number, longEntry: number, shortEntry: number, maintenance: number): Preview | null {
  if (!(margin > 0) || !(leverage >= 1) || !(longEntry > 0) || !(shortEntry > 0)) return null;
  const notional = margin * leverage;
  const buffer = (1 - maintenance) / leverage; // share of the entry price the margin absorbs
  return {
    notional,
    quantity: notional / longEntry,
    margin,
    liquidationLong: longEntry * (1 - buffer),
    liquidationShort: shortEntry * (1 + buffer),
  };
}

/** The unrealized PnL shown between portfolio refreshes: at the closing side's price. */
export function livePnl(side: string, openPrice: number, quantity: number, bid: number, ask: number, margin: number): number {
  const pnl = side === "long" ? (bid - openPrice) * quantity : (openPrice - ask) * quantity;
  return Math.max(pnl, -margin); // a position never loses more than its margin
}
