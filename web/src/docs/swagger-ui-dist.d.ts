// The part of swagger-ui-dist's prebuilt bundle the explorer uses (the package ships no types).
interface SwaggerRequest {
  url: string;
  method?: string;
  headers: Record<string, string>;
  credentials?: RequestCredentials;
}

interface SwaggerOptions {
  url: string;
  dom_id: string;
  deepLinking: boolean;
  persistAuthorization: boolean;
  withCredentials: boolean;
  tryItOutEnabled: boolean;
  displayRequestDuration: boolean;
  validatorUrl: null;
  presets: unknown[];
  requestInterceptor: (request: SwaggerRequest) => SwaggerRequest;
}

declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  interface SwaggerUIBundle {
    (options: SwaggerOptions): unknown;
    presets: { apis: unknown };
  }
  const bundle: SwaggerUIBundle;
  export default bundle;
}
