/** Light, dark, or the system's (prefers-color-scheme); the choice is remembered in localStorage. */
export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'corral-theme';
export const THEME_EVENT = 'corral:theme';

export function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch { /* private mode: the choice lasts this page */ }
  window.dispatchEvent(new Event(THEME_EVENT));
}

/** The theme in effect now, whatever chose it. */
export function effectiveTheme(): 'light' | 'dark' {
  const set = document.documentElement.getAttribute('data-theme');
  if (set === 'light' || set === 'dark') return set;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
