import { defineConfig } from "vite";

// `npm run dev` proxies the API to a gateway on :8000; `npm run build` writes dist/,
// which the gateway serves at / (see src/cryptocfd/gateway/web.py).
export default defineConfig({
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
      "/dev": "http://127.0.0.1:8000",
      "/docs": "http://127.0.0.1:8000",
    },
  },
});
