// The websocket: live prices and the trader's own order events, reconnecting when it drops.
import { actingOn } from "./api";
import { store } from "./store";
import type { OrderEvent, Quote } from "./types";

interface Frame {
  channel?: string;
  data?: unknown;
  type?: string;
  error?: { code: string; message: string };
}

let socket: WebSocket | null = null;
let retryMs = 500;
let stopped = false;

function onFrame(frame: Frame): void {
  if (frame.channel === "prices") {
    store.setQuote(frame.data as Quote);
  } else if (frame.channel === "orders") {
    store.orderEvent.emit(frame.data as OrderEvent);
  } else if (frame.type === "error" && frame.error) {
    console.warn("live:", frame.error.code, frame.error.message);
  }
}

function connect(): void {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  store.connection.emit("connecting");
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
  socket = ws;
  ws.addEventListener("open", () => {
    retryMs = 500;
    ws.send(JSON.stringify({ op: "subscribe", channels: ["prices", "orders"], account: actingOn() }));
    store.connection.emit("live");
    void store.refresh().catch(() => undefined); // catch up on what happened while away
  });
  ws.addEventListener("message", (message: MessageEvent<string>) => {
    try {
      onFrame(JSON.parse(message.data) as Frame);
    } catch (error) {
      console.warn("live: unreadable frame", error);
    }
  });
  ws.addEventListener("close", () => {
    socket = null;
    if (stopped) return;
    store.connection.emit("offline");
    window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

// The orders channel follows the account shown: subscribing names the other moves it there.
store.accountsChanged.on((accounts) => {
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ op: "subscribe", channels: ["orders"], account: accounts.active }));
  }
});

export function startLive(): void {
  stopped = false;
  connect();
}

export function stopLive(): void {
  stopped = true;
  socket?.close();
}
