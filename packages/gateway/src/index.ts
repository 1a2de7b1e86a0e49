/**
 * @chat/gateway: a lean reverse proxy that reads an nginx configuration file and proxies
 * HTTP and WebSocket traffic the way nginx does.
 */
export { loadConfig, parseConfigText } from './config/load.js';
export { ConfigError } from './config/errors.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export type { Logger, LogLevel } from './runtime.js';
export type {
  GatewayConfig,
  ServerConfig,
  ListenConfig,
  LocationConfig,
  ProxyConfig,
  HeaderSetting,
  UpstreamConfig,
  UpstreamServerConfig,
} from './config/types.js';
