export type { Profile } from './profile.js';
export { ProfileStore } from './profile-store.js';
export { validateProfile, FIELD_KEYS } from './profile-fields.js';
