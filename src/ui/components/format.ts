export const bytes = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
export const time = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : '');
export const shape = (s: number[]) => `[${s.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
