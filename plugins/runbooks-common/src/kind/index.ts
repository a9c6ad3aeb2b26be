export * from './appliesTo';
export * from './RunbookEntity';
export * from './validateRunbook';
