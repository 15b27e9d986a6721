// The English stop-words dropped by the search tokenizer (PROTOCOL §11.5): a fixed list of 174
// words, checked on the lowercased token before stemming.
//
// TopGun's own list is not available to us; this is our reconstruction of it (the same groups:
// articles, pronouns, auxiliary verbs, prepositions, conjunctions, adverbs, a few common verbs).
// The scores in vectors/fts.json pin down the words they touch: "to", "is", "a", "of", "and",
// "with", "any" and "without" are stop-words, and so is exactly one of "many" and "uses" (each
// shortens one document by the one token the scores need); we chose "many", the one stop-word
// lists usually carry. The entries with an apostrophe can never match a token, since the
// tokenizer splits on every character that is not a letter or a digit.

const words = [
  // Articles
  "a", "an", "the",
  // Pronouns
  "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
  "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its",
  "itself", "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom",
  "this", "that", "these", "those",
  // Auxiliary verbs
  "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
  "does", "did", "doing", "will", "would", "shall", "should", "can", "could", "may", "might",
  "must", "ought",
  // Prepositions
  "about", "above", "across", "after", "against", "along", "among", "around", "at", "before",
  "behind", "below", "beneath", "beside", "between", "beyond", "by", "down", "during", "except",
  "for", "from", "in", "inside", "into", "near", "of", "off", "on", "onto", "out", "outside",
  "over", "past", "since", "through", "throughout", "to", "toward", "towards", "under",
  "underneath", "until", "up", "upon", "with", "within", "without",
  // Conjunctions
  "and", "but", "or", "nor", "so", "yet", "both", "either", "neither", "not", "only", "as", "if",
  "than", "when", "while", "although", "because", "unless", "whether",
  // Adverbs and determiners
  "here", "there", "where", "why", "how", "all", "each", "every", "any", "some", "no", "none",
  "many", "more", "most", "other", "such", "own", "same", "too", "very", "just", "also", "now",
  "then", "again", "ever", "once",
  // Common verbs
  "get", "got", "make", "made", "take", "taken",
  // Contraction endings
  "'s", "'t", "'ll", "'re", "'ve", "'d",
] as const;

/** The 174 English stop-words (lowercase). */
export const englishStopWords: ReadonlySet<string> = new Set<string>(words);

if (englishStopWords.size !== 174) throw new Error(`stop-words: expected 174 distinct words, got ${englishStopWords.size}`);
