export { newRequestId, REQUEST_ID_HEADER, requestIdOf, traceIdOf } from './request-id.js';
export { RequestTrace, type BatchTiming } from './request-trace.js';
export { serverTiming } from './server-timing.js';
export { otelEnabled, otelSdkLoaded, startOtel, stopOtel, tracing, type Otel, type OtelSpan } from './otel.js';
