export { EventHub, type Change, type HubEvent } from './event-hub.js';
