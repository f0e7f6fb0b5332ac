// The Worker's code names WebCrypto's CryptoKey as a global type, as workerd's types declare it;
// Node's types have the same class only as node:crypto's webcrypto.CryptoKey.
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;
