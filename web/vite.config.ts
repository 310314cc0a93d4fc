import { defineConfig } from "vite";

// `npm run dev` proxies the API to a gateway on :8000; `npm run build` writes dist/, which the
// gateway serves: index.html at / (the dashboard), docs.html at /docs (the API explorer); see
// src/cryptocfd/gateway/web.py.
export default defineConfig({
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 2048, // the explorer's Swagger UI bundle is ~1.5 MB
    rollupOptions: {
      input: { main: "index.html", docs: "docs.html" },
    },
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
      "/dev": "http://127.0.0.1:8000",
      "/openapi.json": "http://127.0.0.1:8000",
    },
  },
});
