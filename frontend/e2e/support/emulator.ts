/** The built-in Clerk emulator's control API: faults to inject, calls it received. */
export interface ClerkCall {
  method: string;
  path: string;
}

export function emulator(url: string, key: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  return {
    fail: (fault: { count: number; status: number; code?: string; message: string }) =>
      call('POST', '/_emulator/faults', { kind: 'fail', ...fault }),
    /** Every Backend API call waits this long until the faults are cleared. */
    latency: (ms: number) => call('POST', '/_emulator/faults', { kind: 'latency', ms }),
    clearFaults: () => call('DELETE', '/_emulator/faults'),
    requests: async (): Promise<ClerkCall[]> => (await (await call('GET', '/_emulator/requests')).json()) as ClerkCall[],
    clearRequests: () => call('DELETE', '/_emulator/requests'),
    /** A call to Clerk's Backend API, as someone using Clerk's dashboard would make. */
    backend: async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    },
  };
}
