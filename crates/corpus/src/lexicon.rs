//! Word lists: speech verbs, titles, pronouns, nicknames, given names, and capitalised words that
//! are not names.

/// Verbs that introduce or tag speech ("said", "cried", "replied").
const SPEECH_VERBS: &[&str] = &[
    "said", "says", "say", "saying", "cried", "cries", "replied", "replies", "answered", "answers", "asked", "asks",
    "returned", "exclaimed", "continued", "added", "observed", "remarked", "shouted", "whispered", "muttered",
    "murmured", "called", "repeated", "rejoined", "interrupted", "resumed", "began", "went", "inquired", "enquired",
    "declared", "protested", "retorted", "responded", "answer", "thought", "groaned", "sighed", "laughed", "screamed",
    "yelled", "roared", "growled", "snapped", "pleaded", "urged", "insisted", "admitted", "agreed", "explained",
    "suggested", "demanded", "stammered", "sobbed", "gasped", "panted", "breathed", "hissed", "drawled", "grumbled",
    "concluded", "cried", "persisted", "ventured", "faltered", "returned", "echoed", "corrected", "objected",
    "announced", "told", "tells", "reply", "ask", "cry", "exclaims", "whispers", "shouts", "mutters", "sneered",
    "chuckled", "smiled", "grinned", "nodded", "put", "struck", "broke", "pursued", "observes", "added", "urges",
    "explains", "thundered", "bawled", "moaned", "wailed", "warned", "joined", "replied", "sang", "squeaked",
    "stated", "bellowed", "mumbled", "snarled", "shrieked", "commented", "confessed", "assented", "commanded",
    "begged", "implored", "entreated", "scoffed", "teased", "hinted", "remonstrated", "expostulated",
    "ejaculated", "interposed", "volunteered", "conceded", "acknowledged", "assured", "scolded", "lamented",
    "mused", "wondered", "thinks", "reasoned", "cautioned", "queried", "boomed", "piped", "snorted", "croaked", "rasped", "stuttered",
    "blurted", "spluttered", "sputtered", "barked", "howled", "hollered", "quoth", "quavered", "grunted",
    "recalled", "reminded", "marvelled", "marveled", "giggled", "jeered", "taunted", "chided", "prompted",
    "soothed", "coaxed", "gushed", "fumed", "raged", "vowed", "swore", "predicted", "affirmed", "quoted",
    // After "would", "will", "did": “Ah, Bishop,” she would declare.
    "declare", "exclaim", "remark", "whisper", "mutter", "murmur", "shout", "inquire", "enquire", "retort",
    "protest", "scream",
    // "continually was she repeating, “Why is he so altered?”"
    "repeating", "exclaiming", "replying", "answering", "whispering", "muttering", "murmuring", "crying", "shouting", "asking",
];

/// True for a speech verb (case-insensitive, surrounding punctuation ignored).
pub fn is_speech_verb(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphabetic());
    if w.is_empty() || w.len() > 12 {
        return false;
    }
    let lower = w.to_ascii_lowercase();
    SPEECH_VERBS.contains(&lower.as_str())
}

/// Verbs of thinking: a quotation they tag is a thought ("‘Well!’ thought Alice").
pub fn is_thought_verb(word: &str) -> bool {
    matches!(word.to_lowercase().as_str(), "thought" | "thinks" | "wondered" | "mused")
}

/// Verbs of gesture that can tag speech but, on their own line, more often react to it.
pub fn is_gesture(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "nodded" | "smiled" | "grinned" | "sighed" | "laughed" | "chuckled" | "sneered" | "groaned" | "gasped" | "panted" | "sobbed" | "moaned"
    )
}

/// Grammatical gender of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// he / him / his
    Male,
    /// she / her / hers
    Female,
    /// Not enough evidence.
    Unknown,
}

/// Titles that come before a name, with the gender they imply.
pub fn title_gender(word: &str) -> Option<Gender> {
    let w = word.trim_end_matches('.');
    Some(match w {
        "Mr" | "Mister" | "Sir" | "Lord" | "Colonel" | "Col" | "Captain" | "Capt" | "Major" | "General" | "Dr"
        | "Doctor" | "Professor" | "Prof" | "Uncle" | "Father" | "Brother" | "King" | "Prince" | "Count" | "Baron"
        | "Monsieur" | "Herr" | "Signor" | "Master" | "Reverend" | "Rev" | "Parson" | "Judge" | "Squire" | "Duke"
        | "Earl" | "Lieutenant" | "Lieut" | "Sergeant" | "Inspector" | "Mynheer" | "Don" | "Senor" => {
            if matches!(w, "Dr" | "Doctor" | "Professor" | "Prof" | "Judge" | "Inspector") {
                Gender::Unknown
            } else {
                Gender::Male
            }
        }
        "Mrs" | "Miss" | "Ms" | "Lady" | "Madame" | "Mme" | "Mademoiselle" | "Mlle" | "Aunt" | "Mother" | "Sister"
        | "Queen" | "Princess" | "Countess" | "Baroness" | "Duchess" | "Dame" | "Frau" | "Fraulein" | "Signora"
        | "Mistress" | "Senora" => Gender::Female,
        _ => return None,
    })
}

/// True for words that may precede a name as a title.
pub fn is_title(word: &str) -> bool {
    title_gender(word).is_some()
}

/// Male and female pronouns (subject, object, possessive).
pub fn pronoun_gender(word: &str) -> Option<Gender> {
    match word {
        "he" | "He" | "him" | "Him" | "his" | "His" | "himself" => Some(Gender::Male),
        "she" | "She" | "her" | "Her" | "hers" | "herself" => Some(Gender::Female),
        _ => None,
    }
}

/// Nicknames and the formal given names they stand for.
pub fn nickname_of(word: &str) -> &'static [&'static str] {
    match word {
        "Lizzy" | "Lizzie" | "Eliza" | "Liz" | "Lisa" | "Betsy" | "Bess" | "Bessie" | "Beth" | "Betty" => &["Elizabeth"],
        "Kitty" | "Kate" | "Katie" | "Cathy" => &["Catherine", "Katherine"],
        "Jenny" | "Jennie" => &["Jane", "Jennifer"],
        "Meg" | "Maggie" | "Peggy" | "Madge" => &["Margaret"],
        "Molly" | "Polly" | "Mamie" => &["Mary"],
        "Sally" => &["Sarah", "Sara"],
        "Nelly" | "Nell" | "Nellie" => &["Ellen", "Helen", "Eleanor"],
        "Bill" | "Billy" | "Will" | "Willy" => &["William"],
        "Bob" | "Bobby" | "Rob" | "Robin" => &["Robert"],
        "Dick" | "Rick" => &["Richard"],
        "Tom" | "Tommy" => &["Thomas"],
        "Jack" | "Johnny" => &["John", "Jonathan"],
        "Ned" | "Ted" | "Teddy" => &["Edward", "Edmund"],
        "Harry" | "Hal" => &["Henry", "Harold"],
        "Jim" | "Jimmy" | "Jem" | "Jamie" => &["James"],
        "Charley" | "Charlie" => &["Charles"],
        "Fanny" => &["Frances"],
        "Sam" | "Sammy" => &["Samuel"],
        "Joe" => &["Joseph"],
        "Ben" => &["Benjamin"],
        "Fred" | "Freddy" => &["Frederick"],
        "Nick" => &["Nicholas"],
        "Tony" => &["Anthony"],
        "Di" => &["Diana"],
        "Nan" | "Nancy" | "Annie" => &["Anne", "Ann"],
        "Jo" => &["Josephine"],
        "Sid" => &["Sidney", "Sydney"],
        "Alec" | "Alick" | "Sandy" => &["Alexander"],
        "Andy" => &["Andrew"],
        "Dan" | "Danny" => &["Daniel"],
        "Matt" => &["Matthew"],
        "Tim" | "Timmy" => &["Timothy"],
        "Steve" => &["Stephen", "Steven"],
        "Mike" | "Mick" => &["Michael"],
        "Phil" => &["Philip", "Phillip"],
        "Gus" => &["Augustus", "Gustavus"],
        "Nat" => &["Nathaniel", "Nathan"],
        "Abe" => &["Abraham"],
        "Ike" => &["Isaac"],
        "Archie" => &["Archibald"],
        "Reggie" => &["Reginald"],
        "Bertie" => &["Albert", "Herbert", "Bertram"],
        "Dolly" => &["Dorothy"],
        "Becky" => &["Rebecca"],
        "Abby" => &["Abigail"],
        "Tilly" | "Tilda" => &["Matilda"],
        "Lottie" | "Lotty" => &["Charlotte"],
        "Hetty" => &["Henrietta", "Hester", "Esther"],
        "Letty" => &["Letitia"],
        "Sukey" | "Susie" | "Sue" => &["Susan", "Susanna", "Susannah"],
        "Gussie" => &["Augusta"],
        "Milly" => &["Millicent", "Mildred", "Amelia"],
        "Emmy" => &["Emily", "Amelia"],
        _ => &[],
    }
}

/// A gender for common English given names.
pub fn given_name_gender(word: &str) -> Option<Gender> {
    const FEMALE: &[&str] = &[
        "Elizabeth", "Jane", "Mary", "Anne", "Ann", "Emma", "Catherine", "Kitty", "Lydia", "Charlotte",
        "Caroline", "Georgiana", "Louisa", "Harriet", "Alice", "Margaret", "Meg", "Jo", "Beth", "Amy", "Sarah",
        "Emily", "Helen", "Ellen", "Lucy", "Fanny", "Marianne", "Elinor", "Susan", "Maria", "Julia", "Anna",
        "Isabella", "Sophia", "Dorothy", "Martha", "Rebecca", "Rachel", "Ruth", "Esther", "Hester", "Tess",
        "Cathy", "Nelly", "Bessie", "Eliza", "Lizzy", "Lizzie", "Jenny", "Polly", "Molly", "Sally", "Nancy",
        "Estella", "Biddy", "Becky", "Amelia", "Laura", "Clara", "Agnes", "Edith", "Florence", "Grace", "Rose",
        "Lily", "Violet", "Dora", "Dinah", "Judith", "Hannah", "Diana", "Ada", "Alma", "Bella", "Cecilia",
        "Eleanor", "Eva", "Flora", "Hetty", "Ida", "Irene", "Josephine", "Kate", "Lucie", "Mabel", "Madeline",
        "Nora", "Olivia", "Phoebe", "Tuppence", "Daisy", "Mildred", "Carrie", "Thea", "Mrs", "Miriam",
        "Gertrude", "Marilla", "Matilda", "Abigail", "Adela", "Adelaide", "Adeline", "Agatha", "Aggie",
        "Alexandra", "Alicia", "Allie", "Amanda", "Angela", "Angelina", "Annabel", "Annabella", "Annette",
        "Annie", "Antoinette", "Antonia", "Arabella", "Augusta", "Barbara", "Beatrice", "Beatrix", "Belinda",
        "Bertha", "Bess", "Betsey", "Betsy", "Betty", "Blanche", "Bridget", "Camilla", "Carlotta", "Cassandra",
        "Cecily", "Celia", "Charity", "Christina", "Christine", "Clarice", "Clarissa", "Constance", "Cora",
        "Cordelia", "Cynthia", "Delia", "Della", "Dolly", "Dorcas", "Dorothea", "Edna", "Effie", "Eleanora",
        "Ella", "Ellie", "Elsa", "Elsie", "Emmeline", "Ethel", "Eugenia", "Eunice", "Evelina", "Evelyn",
        "Frances", "Georgina", "Gertie", "Gwendolen", "Hattie", "Henrietta", "Hilda", "Honoria", "Isabel",
        "Isobel", "Jemima", "Jennie", "Jessie", "Joan", "Joanna", "Judy", "Juliana", "Juliet", "Justine",
        "Kathleen", "Katie", "Laetitia", "Lavinia", "Lena", "Letitia", "Lettice", "Lilian", "Lillian", "Lottie",
        "Louise", "Lucinda", "Lucretia", "Maggie", "Mamie", "Marguerite", "Marian", "Marion", "Marjorie",
        "Mathilde", "Mattie", "Maud", "Maude", "Millicent", "Millie", "Milly", "Minnie", "Myra", "Nan", "Nell",
        "Nellie", "Nettie", "Olive", "Pauline", "Peggy", "Penelope", "Priscilla", "Prudence", "Rosa", "Rosalie",
        "Rosalind", "Rosamond", "Rosie", "Sophie", "Sue", "Susanna", "Susannah", "Susie", "Sybil", "Sylvia",
        "Theresa", "Tilly", "Ursula", "Vera", "Victoria", "Virginia", "Winifred", "Zoe", "Zenobia", "Marie",
        "Jeanne", "Madeleine", "Mathilda", "Bettina", "Selina", "Sophy", "Jessamine", "Kezia", "Keziah",
        "Phyllis", "Iris", "Hermione", "Ginevra",
    ];
    const MALE: &[&str] = &[
        "Fitzwilliam", "Charles", "William", "George", "John", "James", "Thomas", "Henry", "Harry", "Edward",
        "Robert", "Richard", "Joseph", "Tom", "Jack", "Jim", "Bill", "Bob", "Dick", "Sherlock", "Heathcliff",
        "Edgar", "Hindley", "Frederick", "Arthur", "Albert", "Alfred", "Samuel", "Sam", "Peter", "Paul",
        "David", "Daniel", "Michael", "Philip", "Pip", "Joe", "Herbert", "Oliver", "Stephen", "Simon", "Walter",
        "Hugh", "Francis", "Frank", "Ralph", "Roger", "Rudolf", "Huck", "Jem", "Jonathan", "Mark", "Matthew",
        "Ned", "Nicholas", "Andrew", "Anthony", "Benjamin", "Christopher", "Dorian", "Ernest", "Felix",
        "Gabriel", "Geoffrey", "Gilbert", "Guy", "Harold", "Horace", "Isaac", "Jacob", "Laurie", "Lawrence",
        "Leonard", "Martin", "Moses", "Noah", "Owen", "Patrick", "Percy", "Ralph", "Silas", "Theodore",
        "Timothy", "Victor", "Vincent", "Watson", "Holmes", "Buck", "Dorian", "Gatsby", "Nick", "Ishmael",
        "Ahab", "Tarzan", "Paul", "Aaron", "Abel", "Abner", "Abraham", "Adam", "Adolphus", "Alan", "Alec",
        "Alexander", "Alick", "Allan", "Ambrose", "Amos", "Angus", "Archibald", "Archie", "Augustus", "Barnaby",
        "Bartholomew", "Basil", "Ben", "Bernard", "Bertie", "Bertram", "Caleb", "Calvin", "Carl", "Cecil",
        "Cedric", "Chester", "Clarence", "Claude", "Clement", "Clifford", "Colin", "Cyril", "Dan", "Denis",
        "Dennis", "Donald", "Dudley", "Duncan", "Ebenezer", "Edmund", "Edmond", "Edwin", "Eli", "Elias",
        "Elijah", "Elmer", "Emil", "Enoch", "Ephraim", "Eugene", "Ezra", "Ferdinand", "Fergus", "Fred",
        "Freddie", "Freddy", "Gerald", "Gideon", "Giles", "Godfrey", "Gregory", "Gus", "Hal", "Hank", "Hans",
        "Harvey", "Hector", "Herman", "Hiram", "Homer", "Hubert", "Hugo", "Humphrey", "Ichabod", "Ira", "Ivan",
        "Jake", "Jasper", "Jeff", "Jeremiah", "Jeremy", "Jerry", "Jesse", "Jethro", "Jimmy", "Joel", "Johnny",
        "Jonas", "Josiah", "Julian", "Julius", "Karl", "Lazarus", "Lemuel", "Leo", "Leopold", "Lester", "Levi",
        "Lewis", "Lionel", "Louis", "Lucas", "Luke", "Luther", "Malcolm", "Marcus", "Maurice", "Max", "Micah",
        "Mike", "Milton", "Mortimer", "Nat", "Nathan", "Nathaniel", "Neville", "Noel", "Norman", "Obadiah",
        "Orville", "Oscar", "Oswald", "Otto", "Percival", "Phil", "Pierre", "Randolph", "Raymond", "Reggie",
        "Reginald", "Reuben", "Rex", "Roderick", "Rodney", "Roland", "Rowland", "Roy", "Rufus", "Rupert",
        "Saul", "Sebastian", "Seth", "Sid", "Sidney", "Solomon", "Stanley", "Stuart", "Sylvester", "Teddy",
        "Ted", "Toby", "Tony", "Tristram", "Uriah", "Virgil", "Wallace", "Warren", "Wesley", "Wilbur",
        "Wilfred", "Wilfrid", "Willie", "Willy", "Winthrop", "Zachary", "Jock", "Davy", "Jamie", "Jemmy",
        "Tommy", "Bobby", "Billy", "Charley", "Charlie", "Lancelot",
    ];
    if FEMALE.contains(&word) {
        Some(Gender::Female)
    } else if MALE.contains(&word) {
        Some(Gender::Male)
    } else {
        None
    }
}

/// Capitalised words that are never character names on their own.
pub fn is_non_name(word: &str) -> bool {
    const W: &[&str] = &[
        "I", "A", "An", "The", "He", "She", "It", "We", "They", "You", "His", "Her", "Its", "Our", "Their", "Your",
        "My", "Me", "Him", "Them", "Us", "This", "That", "These", "Those", "There", "Here", "What", "When", "Where",
        "Why", "How", "Who", "Whom", "Which", "While", "If", "But", "And", "Or", "Nor", "For", "So", "Yet", "Not",
        "No", "Yes", "Oh", "O", "Ah", "Well", "Now", "Then", "Thus", "Still", "Indeed", "Perhaps", "Nothing",
        "Nobody", "Everything", "Everybody", "Some", "Somebody", "Something", "All", "Any", "Every", "Each", "One",
        "Two", "Three", "After", "Before", "As", "At", "In", "On", "Of", "To", "From", "With", "By", "Upon", "Into",
        "Chapter", "CHAPTER", "Book", "Part", "Volume", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
        "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December", "God", "Lord", "Heaven", "Christmas", "English", "French",
        "London", "England", "Do", "Did", "Does", "Is", "Are", "Was", "Were", "Be", "Have", "Has", "Had", "Will",
        "Would", "Shall", "Should", "Can", "Could", "May", "Might", "Must", "Let", "Good", "Very", "Dear", "Sir",
        "Madam", "Ma'am", "Mamma", "Papa", "Mama", "Mother", "Father", "Miss", "Mrs", "Mr", "Lady", "Pray",
        "Come", "Go", "Look", "See", "Say", "Tell", "Only", "Even", "Just", "Never", "Ever", "Again", "Besides",
        "Although", "Though", "Because", "Since", "Until", "Unless", "Whether", "Whatever", "Whoever", "Such",
        "Much", "Many", "More", "Most", "Other", "Another", "Both", "Either", "Neither", "Once", "Twice",
        "Mister", "Captain", "Doctor", "Uncle", "Aunt", "Colonel", "Hm", "Ha", "Hush", "Alas", "Aye", "Ay",
        "Nay", "Why", "Sure", "Certainly", "Really", "Quite", "Thank", "Thanks", "Please", "Hullo", "Hello",
        "Goodbye", "Farewell", "Mrs.", "Mr.", "Dr", "St", "Jesus", "Christ", "Bible", "Don't", "I'm", "I'll",
        "I've", "I'd", "It's", "That's", "There's", "What's", "Let's", "Gutenberg", "Project", "Street", "Square",
        "Hall", "House", "Park", "Town", "Road", "Lane", "Court", "Church", "Lodge", "Place", "Inn", "North",
        "South", "East", "West", "Majesty", "Highness", "Ladyship", "Lordship", "Grace", "Honour", "Honor", "Till",
        "Meanwhile", "However", "Therefore", "Hence", "Whilst", "Instead", "Besides", "Without", "Within",
        "Through", "Over", "Under", "About", "Above", "Below", "Between", "Among", "Against", "During", "Toward",
        "Towards", "Behind", "Beyond", "Like", "Off", "Out", "Up", "Down", "Next", "Last", "First", "Second",
        "Mademoiselle", "Madame", "Monsieur", "Heavens", "Good-bye", "Ay", "Em", "Hey", "Eh", "Ugh", "Pooh",
        "Bah", "Yours", "Mine", "Ours", "Theirs", "Whose", "Oh!", "Alone", "Afterwards", "Yesterday", "Today",
        "To-day", "To-morrow", "Tomorrow", "Tonight", "To-night", "Miss.", "Everyone", "Someone", "Anyone",
        "Anything", "Ladies", "Gentlemen", "Sirs", "Scotland", "Ireland", "America", "France", "Paris", "Europe",
        "India", "Indian", "Irish", "Scotch", "American", "Italian", "German", "Spanish", "Latin", "Greek",
        "Roman", "Christian", "Catholic", "Protestant", "Sabbath", "Easter", "Providence", "Fate", "Fortune",
    ];
    W.contains(&word)
}

/// Prepositions: a name right after one is seldom the subject of its sentence ("offered the chair
/// to Temple").
pub fn is_preposition(word: &str) -> bool {
    matches!(
        word,
        "to" | "by" | "with" | "at" | "for" | "from" | "of" | "on" | "upon" | "in" | "into" | "towards" | "toward"
            | "about" | "after" | "behind" | "beside" | "like" | "than" | "against" | "among" | "between" | "near"
            | "onto" | "over" | "under" | "without" | "beyond" | "round" | "around"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert!(is_speech_verb("said,"));
        assert!(is_speech_verb("Replied"));
        assert!(!is_speech_verb("walked"));
        assert_eq!(title_gender("Mrs."), Some(Gender::Female));
        assert_eq!(nickname_of("Lizzy"), &["Elizabeth"]);
        assert!(is_non_name("The"));
        assert!(!is_non_name("Elizabeth"));
    }
}
