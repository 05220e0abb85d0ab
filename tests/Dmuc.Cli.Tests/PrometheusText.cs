using System.Globalization;
using System.Text;

namespace Dmuc.Cli.Tests;

/// <summary>One sample of a Prometheus text exposition: <c>name{label="value",...} number</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>Reads the Prometheus text format (version 0.0.4) as a scraper does; comments and blank lines are skipped.</summary>
public static class PrometheusText
{
    public static List<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            samples.Add(ParseSample(line));
        }
        return samples;
    }

    /// <summary>The one sample named <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public static double Value(this IEnumerable<PrometheusSample> samples, string name, params (string Label, string Value)[] labels)
    {
        var matching = samples.Where(sample => sample.Name == name
            && labels.All(label => sample.Labels.TryGetValue(label.Label, out var value) && value == label.Value)).ToList();
        return matching.Count == 1 ? matching[0].Value
            : throw new InvalidOperationException($"{matching.Count} samples of {name} {string.Join(",", labels)}");
    }

    private static PrometheusSample ParseSample(string line)
    {
        var labels = new Dictionary<string, string>();
        var nameEnd = line.IndexOfAny(['{', ' ']);
        if (nameEnd < 0) throw new FormatException($"no value: {line}");
        var name = line[..nameEnd];
        var position = nameEnd;
        if (line[position] == '{')
        {
            position++;
            while (line[position] != '}')
            {
                var equals = line.IndexOf('=', position);
                var label = line[position..equals].Trim();
                if (line[equals + 1] != '"') throw new FormatException($"unquoted label value: {line}");
                var (value, next) = ReadQuoted(line, equals + 2);
                labels[label] = value;
                position = next;
                if (line[position] == ',') position++;
            }
            position++;
        }
        // A timestamp may follow the value.
        var value0 = line[position..].Trim().Split(' ')[0];
        return new PrometheusSample(name, labels, ParseNumber(value0));
    }

    private static (string Value, int Next) ReadQuoted(string line, int start)
    {
        var value = new StringBuilder();
        var i = start;
        for (; line[i] != '"'; i++)
        {
            if (line[i] != '\\')
            {
                value.Append(line[i]);
                continue;
            }
            i++;
            value.Append(line[i] switch { 'n' => '\n', var escaped => escaped });
        }
        return (value.ToString(), i + 1);
    }

    private static double ParseNumber(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
