import type { ComponentChildren } from 'preact';
import { href, onLinkClick } from '../router';

export function Link({ to, children, current, class: className }: { to: string; children: ComponentChildren; current?: boolean; class?: string }) {
  return <a href={href(to)} onClick={onLinkClick} aria-current={current ? 'page' : undefined} class={className}>{children}</a>;
}
