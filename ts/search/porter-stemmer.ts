// The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980),
// in the form of Porter's own reference JavaScript version: including its two later departures
// from the paper ("bli" -> "ble" and "logi" -> "log" in step 2) and the rule that words shorter
// than three characters are returned unchanged. TopGun's search stems with the same algorithm
// (PROTOCOL §11.5; fts.json's tokenizer cases check it).
//
// Letters other than a, e, i, o, u (and y after a consonant) count as consonants, so accented
// words are stemmed as the reference does ("naïve" -> "naïv").
//
// Cost: a few µs per word (regular expressions); the tokenizer caches stems.

const step2Suffixes: Readonly<Record<string, string>> = {
  ational: "ate", tional: "tion", enci: "ence", anci: "ance", izer: "ize", bli: "ble", alli: "al",
  entli: "ent", eli: "e", ousli: "ous", ization: "ize", ation: "ate", ator: "ate", alism: "al",
  iveness: "ive", fulness: "ful", ousness: "ous", aliti: "al", iviti: "ive", biliti: "ble", logi: "log",
};

const step3Suffixes: Readonly<Record<string, string>> = {
  icate: "ic", ative: "", alize: "al", iciti: "ic", ical: "ic", ful: "", ness: "",
};

const consonant = "[^aeiou]";
const vowel = "[aeiouy]";
const consonantRun = `${consonant}[^aeiouy]*`;
const vowelRun = `${vowel}[aeiou]*`;

/** m > 0: [C]VC... */
const measureAbove0 = new RegExp(`^(${consonantRun})?${vowelRun}${consonantRun}`);
/** m = 1: [C]VC[V] */
const measureIs1 = new RegExp(`^(${consonantRun})?${vowelRun}${consonantRun}(${vowelRun})?$`);
/** m > 1: [C]VCVC... */
const measureAbove1 = new RegExp(`^(${consonantRun})?${vowelRun}${consonantRun}${vowelRun}${consonantRun}`);
/** The stem contains a vowel. */
const hasVowel = new RegExp(`^(${consonantRun})?${vowel}`);
/** *o: the stem ends consonant-vowel-consonant, the last consonant not w, x or y. */
const endsCvc = new RegExp(`^${consonantRun}${vowel}[^aeiouwxy]$`);

const step1aSses = /^(.+?)(ss|i)es$/;
const step1aS = /^(.+?)([^s])s$/;
const step1bEed = /^(.+?)eed$/;
const step1bEdIng = /^(.+?)(ed|ing)$/;
const step1bAtBlIz = /(at|bl|iz)$/;
const step1bDouble = /([^aeiouylsz])\1$/;
const step1c = /^(.+?)y$/;
const step2 = /^(.+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)$/;
const step3 = /^(.+?)(icate|ative|alize|iciti|ical|ful|ness)$/;
const step4 = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/;
const step4Ion = /^(.+?)(s|t)(ion)$/;
const step5E = /^(.+?)e$/;
const step5Ll = /ll$/;

/** The Porter stem of a lowercase word. */
export function porterStem(word: string): string {
  if (word.length < 3) return word;
  const startsWithY = word.charCodeAt(0) === 0x79; // "y"
  // An initial y is a consonant: uppercase it so the vowel classes do not match it.
  let w = startsWithY ? `Y${word.slice(1)}` : word;

  // Step 1a
  let match = step1aSses.exec(w);
  if (match !== null) w = match[1]! + match[2]!;
  else if ((match = step1aS.exec(w)) !== null) w = match[1]! + match[2]!;

  // Step 1b
  if ((match = step1bEed.exec(w)) !== null) {
    if (measureAbove0.test(match[1]!)) w = w.slice(0, -1);
  } else if ((match = step1bEdIng.exec(w)) !== null) {
    const stem = match[1]!;
    if (hasVowel.test(stem)) {
      w = stem;
      if (step1bAtBlIz.test(w)) w += "e";
      else if (step1bDouble.test(w)) w = w.slice(0, -1);
      else if (endsCvc.test(w)) w += "e";
    }
  }

  // Step 1c
  if ((match = step1c.exec(w)) !== null) {
    const stem = match[1]!;
    if (hasVowel.test(stem)) w = `${stem}i`;
  }

  // Step 2
  if ((match = step2.exec(w)) !== null) {
    const stem = match[1]!;
    if (measureAbove0.test(stem)) w = stem + step2Suffixes[match[2]!]!;
  }

  // Step 3
  if ((match = step3.exec(w)) !== null) {
    const stem = match[1]!;
    if (measureAbove0.test(stem)) w = stem + step3Suffixes[match[2]!]!;
  }

  // Step 4
  if ((match = step4.exec(w)) !== null) {
    const stem = match[1]!;
    if (measureAbove1.test(stem)) w = stem;
  } else if ((match = step4Ion.exec(w)) !== null) {
    const stem = match[1]! + match[2]!;
    if (measureAbove1.test(stem)) w = stem;
  }

  // Step 5
  if ((match = step5E.exec(w)) !== null) {
    const stem = match[1]!;
    if (measureAbove1.test(stem) || (measureIs1.test(stem) && !endsCvc.test(stem))) w = stem;
  }
  if (step5Ll.test(w) && measureAbove1.test(w)) w = w.slice(0, -1);

  return startsWithY ? `y${w.slice(1)}` : w;
}
