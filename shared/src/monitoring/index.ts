export * from './window';
export * from './psi';
export * from './drift';
export * from './live-accuracy';
