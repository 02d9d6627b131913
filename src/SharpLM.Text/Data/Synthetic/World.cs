// The synthetic world behind the quickstart's crawl: fictional countries with capitals, towns, people
// with a home town, a trade, a favourite colour, a pet and a count of some object. Every page of the
// crawl states facts of this one world, and every evaluation question is answered by it, so a model's
// multiple-choice accuracy measures what it learned from the pages. Deterministic for a seed.
// Not here: rendering (EnglishWriter, ForeignWriter) and questions (QuestionSet).
namespace SharpLM.Text.Data.Synthetic;

/// <summary>A fictional country and its capital city.</summary>
public sealed record Country(string Name, string Capital);

/// <summary>A town of a country; the capital is one of the towns.</summary>
public sealed record Town(string Name, string Country, string Landmark);

/// <summary>A person and the facts the crawl states about them.</summary>
public sealed record Person(
    string First, string Family, bool Female, string Town, string Job, string Colour,
    string PetName, int Count, string CountedThing)
{
    /// <summary>First and family name.</summary>
    public string FullName => $"{First} {Family}";
    /// <summary>Subject pronoun.</summary>
    public string He => Female ? "she" : "he";
    /// <summary>Possessive pronoun.</summary>
    public string His => Female ? "her" : "his";
    /// <summary>Object pronoun.</summary>
    public string Him => Female ? "her" : "him";
}

/// <summary>An animal with a name, a species, a colour and an owner (a person's first name).</summary>
public sealed record Pet(string Name, string Species, string Colour, string Owner);

/// <summary>All entities of one seeded world.</summary>
public sealed class World
{
    /// <summary>Countries, each with a capital among <see cref="Towns"/>.</summary>
    public required IReadOnlyList<Country> Countries { get; init; }
    /// <summary>Towns (capitals included).</summary>
    public required IReadOnlyList<Town> Towns { get; init; }
    /// <summary>People (first names are unique).</summary>
    public required List<Person> People { get; init; }
    /// <summary>Pets, one per person (names are unique).</summary>
    public required IReadOnlyList<Pet> Pets { get; init; }

    /// <summary>Looks a person up by first name.</summary>
    public Person PersonNamed(string first) => People.First(p => p.First == first);
    /// <summary>Looks a town up by name.</summary>
    public Town TownNamed(string name) => Towns.First(t => t.Name == name);
    /// <summary>Looks a country up by name.</summary>
    public Country CountryNamed(string name) => Countries.First(c => c.Name == name);
    /// <summary>Looks a pet up by name.</summary>
    public Pet PetNamed(string name) => Pets.First(p => p.Name == name);

    /// <summary>Builds the world for <paramref name="seed"/> with the given numbers of countries, towns per country and people.</summary>
    public static World Create(long seed, int countries = 6, int townsPerCountry = 3, int people = 48)
    {
        if (countries < 2 || countries > Lexicon.CountryStems.Length) throw new ArgumentOutOfRangeException(nameof(countries));
        if (townsPerCountry < 1 || countries * townsPerCountry > Lexicon.TownStems.Length * Lexicon.TownEndings.Length / 4)
            throw new ArgumentOutOfRangeException(nameof(townsPerCountry));
        if (people < 4 || people > Math.Min(Lexicon.FemaleNames.Length + Lexicon.MaleNames.Length, Lexicon.PetNames.Length))
            throw new ArgumentOutOfRangeException(nameof(people));
        var rng = SynthRng.For(seed, 0xE0E0, 0);

        var stems = rng.Sample(Lexicon.CountryStems, countries);
        var countryList = new List<Country>();
        var towns = new List<Town>();
        var usedTowns = new HashSet<string>();
        foreach (var stem in stems)
        {
            string country = stem + rng.Pick(Lexicon.CountryEndings);
            var mine = new List<string>();
            while (mine.Count < townsPerCountry)
            {
                string t = rng.Pick(Lexicon.TownStems) + rng.Pick(Lexicon.TownEndings);
                if (usedTowns.Add(t)) mine.Add(t);
            }
            countryList.Add(new Country(country, mine[0]));
            foreach (var t in mine) towns.Add(new Town(t, country, rng.Pick(Lexicon.Landmarks)));
        }

        var names = new List<(string Name, bool Female)>();
        foreach (var n in Lexicon.FemaleNames) names.Add((n, true));
        foreach (var n in Lexicon.MaleNames) names.Add((n, false));
        var chosen = rng.Sample(names, people);
        var petNames = rng.Sample(Lexicon.PetNames, people);
        var personList = new List<Person>();
        var pets = new List<Pet>();
        for (int i = 0; i < people; i++)
        {
            var (first, female) = chosen[i];
            // Towns are dealt round-robin then shuffled so every town has residents.
            string town = towns[i % towns.Count].Name;
            var p = new Person(first, rng.Pick(Lexicon.FamilyNames), female, town, rng.Pick(Lexicon.Jobs),
                rng.Pick(Lexicon.Colours), petNames[i], rng.Range(2, 9), rng.Pick(Lexicon.CountedThings));
            personList.Add(p);
            pets.Add(new Pet(petNames[i], rng.Pick(Lexicon.Species), rng.Pick(Lexicon.Colours), first));
        }
        // Reassign towns in a seeded order so residence is not aligned with name order.
        var townOrder = personList.Select(p => p.Town).ToList();
        rng.Shuffle(townOrder);
        for (int i = 0; i < personList.Count; i++) personList[i] = personList[i] with { Town = townOrder[i] };

        return new World { Countries = countryList, Towns = towns, People = personList, Pets = pets };
    }
}

/// <summary>Word lists the world and its pages are made of.</summary>
public static class Lexicon
{
    internal static readonly string[] CountryStems =
        ["Valdor", "Mirren", "Ostrav", "Kelmar", "Thessal", "Brundor", "Calver", "Esmor", "Laruvi", "Norvel", "Pellan", "Quorin"];
    internal static readonly string[] CountryEndings = ["ia", "land", "a", "ica", "mark"];
    internal static readonly string[] TownStems =
        ["Tol", "Ash", "Bram", "Cold", "Elder", "Fern", "Glen", "Hazel", "Iron", "Jun", "Kings", "Lark", "Marl", "Nettle", "Oak",
         "Pem", "Quill", "Raven", "Stan", "Thorn", "Upper", "Wex", "Yarrow", "Blythe", "Crow", "Dun", "Fair", "Holl"];
    internal static readonly string[] TownEndings = ["bridge", "ford", "wick", "ton", "mere", "haven", "by", "stead", "field", "holt", "port", "moor"];
    internal static readonly string[] Landmarks =
        ["an old stone bridge", "a busy harbour", "a tall clock tower", "a quiet lake", "a windmill on the hill", "a large market square",
         "an ancient oak tree", "a red lighthouse", "a famous library", "a small castle", "a painted church", "a deep green forest"];
    internal static readonly string[] FemaleNames =
        ["Mara", "Anna", "Lena", "Clara", "Ivy", "Nora", "Elsa", "Greta", "Hazel", "Iris", "Julia", "Kira", "Lucy", "Maya", "Nina",
         "Olive", "Paula", "Rosa", "Sara", "Tessa", "Una", "Vera", "Wendy", "Zoe", "Alice", "Bella", "Daisy", "Edith", "Fiona", "Gemma",
         "Helen", "Jane", "Laura", "Molly", "Ruth", "Sophie"];
    internal static readonly string[] MaleNames =
        ["Tomas", "Ben", "Carl", "David", "Emil", "Felix", "George", "Hugo", "Ivan", "Jack", "Karl", "Leo", "Max", "Noah", "Oscar",
         "Peter", "Quentin", "Robin", "Sam", "Theo", "Victor", "Walter", "Adam", "Bruno", "Colin", "Dennis", "Frank", "Harry", "Isaac",
         "Jonas", "Kevin", "Lewis", "Martin", "Owen", "Paul", "Simon"];
    internal static readonly string[] FamilyNames =
        ["Fenwick", "Hollis", "Marsh", "Pryce", "Thorne", "Ashby", "Bramley", "Cobb", "Dale", "Ellery", "Frost", "Gale", "Hart",
         "Keane", "Lowell", "Mercer", "North", "Oakes", "Penn", "Reed", "Shaw", "Tate", "Vance", "Webb", "Wren", "Yates"];
    internal static readonly string[] PetNames =
        ["Pip", "Biscuit", "Pepper", "Mittens", "Rusty", "Clover", "Bramble", "Socks", "Tilly", "Noodle", "Pickle", "Waffle", "Ziggy",
         "Button", "Muffin", "Pudding", "Scout", "Shadow", "Sunny", "Tango", "Toffee", "Maple", "Nutmeg", "Oatmeal", "Pebble",
         "Rolo", "Sprout", "Bean", "Comet", "Dotty", "Fudge", "Ginger", "Honey", "Jasper", "Kiwi", "Lulu", "Mango", "Nibbles",
         "Oreo", "Poppy", "Quincy", "Rascal", "Sable", "Truffle", "Velvet", "Whiskers", "Yoyo", "Zest", "Acorn", "Blossom",
         "Cocoa", "Dusty", "Echo", "Flint", "Goose", "Hopper", "Inky", "Juniper", "Kipper", "Lentil", "Marble", "Nugget", "Otis",
         "Peanut", "Rocket", "Sesame", "Thistle", "Umber", "Vesper", "Widget", "Yam", "Zephyr"];
    internal static readonly string[] Jobs =
        ["baker", "teacher", "carpenter", "fisher", "farmer", "doctor", "painter", "tailor", "potter", "librarian", "gardener",
         "blacksmith", "musician", "nurse", "shepherd", "weaver"];
    internal static readonly string[] Colours = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black", "grey", "brown"];
    internal static readonly string[] Species = ["cat", "dog", "rabbit", "parrot", "horse", "goat", "tortoise", "hamster", "duck", "pony"];
    internal static readonly string[] CountedThings = ["kites", "books", "hats", "chairs", "lamps", "boats", "drums", "clocks", "baskets", "candles"];
    internal static readonly string[] NumberWords =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
         "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"];

    /// <summary>The English word for 0..20.</summary>
    public static string Number(int n) => n >= 0 && n < NumberWords.Length ? NumberWords[n] : n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"a" or "an" for the word.</summary>
    public static string A(string word) => "aeiou".Contains(char.ToLowerInvariant(word[0])) ? "an" : "a";

    /// <summary>Upper-cases the first letter.</summary>
    public static string Cap(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
