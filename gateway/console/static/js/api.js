// The console's JSON API and the credentials it sends: a bearer token kept in this tab's
// sessionStorage (never a cookie, never in a URL).

const TOKEN_KEY = "gateway-console.token";

export const credentials = {
  get() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
  headers() {
    const token = this.get();
    return token ? { authorization: `Bearer ${token}` } : {};
  },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET (or POST with `body`) /ui/api/<path>; resolves to the JSON answer, throws ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json", ...credentials.headers() };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/ui/api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.error) || `${response.status} ${response.statusText}`);
  }
  return data;
}
