export { default } from '@chat/eslint-config';
