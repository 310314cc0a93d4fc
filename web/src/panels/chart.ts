// The candlestick chart: interval switcher, history from /candles (or local bars), live updates.
import { ColorType, CrosshairMode, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import { api } from "../api";
import { type Bar, INTERVALS, type Interval, fold, intervalSeconds, localBars, quoteSeconds, recordTick } from "../candles";
import { h, setText } from "../dom";
import { percent, price, tone } from "../format";
import { store } from "../store";

export function chartPanel(): HTMLElement {
  let interval: Interval = "1m";
  let bars: Bar[] = [];
  let generation = 0;

  const title = h("h2", { class: "chart-symbol", id: "chart-title" }, store.selected);
  const name = h("span", { class: "muted" });
  const last = h("span", { class: "chart-last" }, "—");
  const change = h("span", { class: "chg flat" }, "");
  const source = h("span", { class: "muted small chart-source" });
  const buttons = INTERVALS.map((value) =>
    h("button", { type: "button", class: "seg", "aria-pressed": String(value === interval), "data-interval": value, onclick: () => setInterval(value) }, value),
  );
  const host = h("div", { class: "chart-host", role: "img", "aria-label": "Price chart" });
  const panel = h(
    "section",
    { class: "panel chart", "aria-labelledby": "chart-title" },
    h("div", { class: "chart-head" }, h("div", { class: "chart-id" }, title, name, last, change), h("div", { class: "segmented", role: "group", "aria-label": "Interval" }, ...buttons), source),
    host,
    h("p", { class: "chart-credit muted" }, "Charts by ", h("a", { href: "https://www.tradingview.com/", target: "_blank", rel: "noopener" }, "TradingView Lightweight Charts")),
  );

  let chart: IChartApi | null = null;
  let series: ISeriesApi<"Candlestick"> | null = null;
  queueMicrotask(() => {
    chart = createChart(host, {
      autoSize: true,
      grid: { vertLines: { color: "#18202a" }, horzLines: { color: "#18202a" } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#222c38" },
      timeScale: { borderColor: "#222c38", timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 9 },
      // The logo injects a <style> the page's CSP refuses; the credit is in the panel instead.
      layout: { attributionLogo: false, background: { type: ColorType.Solid, color: "#0f141b" }, textColor: "#8b98a9", fontSize: 11 },
    });
    series = chart.addCandlestickSeries({
      upColor: "#1fbf75",
      downColor: "#f0465a",
      borderVisible: false,
      wickUpColor: "#1fbf75",
      wickDownColor: "#f0465a",
    });
    void load();
  });

  function setInterval(value: Interval): void {
    interval = value;
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.interval === value));
    void load();
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    const asset = store.asset(store.selected);
    setText(title, store.selected);
    setText(name, asset?.name ?? "");
    if (asset && series) {
      const decimals = asset.price_decimals;
      series.applyOptions({ priceFormat: { type: "price", precision: decimals, minMove: 10 ** -decimals } });
    }
    let history: Bar[] = [];
    try {
      const rows = await api.candles(store.selected, interval);
      history = rows.map((row) => ({ time: row.time, open: Number(row.open), high: Number(row.high), low: Number(row.low), close: Number(row.close) }));
    } catch {
      history = [];
    }
    if (mine !== generation || !series) return;
    const fromServer = history.length > 0;
    bars = fromServer ? history.sort((a, b) => a.time - b.time) : localBars(store.selected, interval);
    setText(source, fromServer ? "" : "Live since page load");
    series.setData(bars.map(toChart));
    host.dataset.candles = String(bars.length); // what the canvas shows, for tests and tools
    chart?.timeScale().scrollToRealTime();
  }

  store.selection.on(() => void load());
  store.quote.on((quote) => {
    const at = quoteSeconds(quote.ts);
    const bid = Number(quote.bid);
    recordTick(quote.asset, at, bid);
    if (quote.asset !== store.selected) return;
    const asset = store.asset(quote.asset);
    setText(last, price(bid, asset?.price_decimals ?? 2));
    const delta = store.change24h(quote.asset, bid);
    setText(change, delta === null ? "" : `${percent(delta)} 24h`);
    change.className = `chg ${delta === null ? "flat" : tone(delta)}`;
    if (!series) return;
    const bar = fold(bars, intervalSeconds(interval), at, bid);
    series.update(toChart(bar));
  });
  return panel;
}

function toChart(bar: Bar): { time: UTCTimestamp; open: number; high: number; low: number; close: number } {
  return { time: bar.time as UTCTimestamp, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}
