import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// these machines are shared and noisy: findBy / waitFor wait up to 5 s (not 1 s) before failing
configure({ asyncUtilTimeout: 5000 });
jest.setTimeout(20_000);
