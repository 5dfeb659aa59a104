export type { Profile, ProfileType } from './profile.js';
export { BOX_PROFILE_TYPES, PROFILE_TYPES, instancesOf } from './profile.js';
export { ProfileStore } from './profile-store.js';
export { validateProfile, FIELD_KEYS } from './profile-fields.js';
