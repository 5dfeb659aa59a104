/** corral_batch_size histogram sum and count of one model, read from a gateway's /metrics. */
export async function batchHistogram(url: string, model: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (suffix: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`corral_batch_size_${suffix}{`) && l.includes(`model="${model}"`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { sum: read('sum'), count: read('count') };
}
