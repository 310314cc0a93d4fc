// Candles for the chart: history from /candles when it answers, else built here from live bids,
// so the chart is never empty. Charts are of the bid, as the platform's are.

export interface Bar {
  time: number; // unix seconds, the bar's start
  open: number;
  high: number;
  low: number;
  close: number;
}

export const INTERVALS = ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"] as const;
export type Interval = (typeof INTERVALS)[number];

const SECONDS: Record<Interval, number> = {
  "1m": 60,
  "5m": 300,
  "15m": 900,
  "30m": 1800,
  "1h": 3600,
  "4h": 14_400,
  "1d": 86_400,
  "1w": 604_800,
};

export function intervalSeconds(interval: Interval): number {
  return SECONDS[interval];
}

const MAX_MINUTES = 24 * 60;
/** One-minute bars of every asset, from the quotes seen since the page opened. */
const minutes = new Map<string, Bar[]>();

/** Seconds since the epoch of a quote's timestamp (milliseconds, or seconds if small). */
export function quoteSeconds(ts: number): number {
  return ts > 1e12 ? Math.floor(ts / 1000) : Math.floor(ts);
}

/** Fold one bid into ``bars`` with bars ``size`` seconds long; returns the bar it touched. */
export function fold(bars: Bar[], size: number, at: number, value: number): Bar {
  const last = bars[bars.length - 1];
  if (last && at >= last.time && at < last.time + size) {
    last.high = Math.max(last.high, value);
    last.low = Math.min(last.low, value);
    last.close = value;
    return last;
  }
  if (last && at < last.time) return last; // late quote: the chart never goes back in time
  const bar = { time: Math.floor(at / size) * size, open: value, high: value, low: value, close: value };
  bars.push(bar);
  return bar;
}

export function recordTick(asset: string, at: number, bid: number): void {
  let bars = minutes.get(asset);
  if (!bars) {
    bars = [];
    minutes.set(asset, bars);
  }
  fold(bars, 60, at, bid);
  if (bars.length > MAX_MINUTES) bars.splice(0, bars.length - MAX_MINUTES);
}

/** The bars of ``interval`` built from the minutes seen here. */
export function localBars(asset: string, interval: Interval): Bar[] {
  const size = SECONDS[interval];
  const out: Bar[] = [];
  for (const minute of minutes.get(asset) ?? []) {
    const bar = fold(out, size, minute.time, minute.open);
    bar.high = Math.max(bar.high, minute.high);
    bar.low = Math.min(bar.low, minute.low);
    bar.close = minute.close;
  }
  return out;
}
