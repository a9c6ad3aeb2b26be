export * from './appliesTo';
export * from './jsonSchema';
export * from './RunbookEntity';
export * from './validateRunbook';
