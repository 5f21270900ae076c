import { PermanentError } from '../../errors';

/**
 * The CSV source's failures that retrying cannot fix (all PermanentError: the run fails at once with
 * the class name as the failure type). Each message says what to do.
 */

/** The file cannot be opened or is not a file this source can read (missing, a directory, UTF-16). */
export class CsvFileError extends PermanentError {
  override readonly name = 'CsvFileError';
}

/** The header does not fit the config: missing or duplicate columns, names that cannot be target columns. */
export class CsvHeaderError extends PermanentError {
  override readonly name = 'CsvHeaderError';
}

/** The file is not valid CSV at some point (an unclosed quote, a record over the size limit). */
export class CsvFormatError extends PermanentError {
  override readonly name = 'CsvFormatError';
  /** The file ended inside a quoted field: broken, or a last record still being written. */
  unclosedQuote = false;
  /** Where the record it failed on starts (a byte offset). */
  offset = 0;
}

/** The checkpoint's file is gone: the file shrank below the cursor, or was replaced or rewritten. */
export class CsvFileChangedError extends PermanentError {
  override readonly name = 'CsvFileChangedError';
}
