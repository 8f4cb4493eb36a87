/** An absolute POSIX or Windows path: a leading separator (or drive) and at least two segments. */
const ABSOLUTE_PATH = /(?:[A-Za-z]:)?[\\/](?:[^\s'"`<>|:\\/]+[\\/])+([^\s'"`<>|:\\/]*)/g;

/**
 * A message fit for a client: absolute file system paths (the model directory, a worker's ONNX
 * file) are cut to their last segment, so the deployment's layout never leaves the gateway.
 */
export const withoutPaths = (message: string): string => message.replace(ABSOLUTE_PATH, (_path, last: string) => last || '[path]');
