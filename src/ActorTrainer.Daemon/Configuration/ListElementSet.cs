using System.Text;
using Akka.Configuration;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>`--set` of one element of a list, e.g. <c>--set model.layers.0.units=256</c> or
/// <c>--set model.layers.1={ type = dense, units = 10 }</c>. HOCON paths have no list indices (a digit segment would
/// turn the list into an object), so such a key is rewritten into the whole list as configured so far with that
/// element changed: its key merged into the element (an object), or the element replaced (no key after the index).</summary>
internal static class ListElementSet
{
    /// <summary>The HOCON line that sets `key` = `valueText` (already quoted as HOCON) when a digit segment of `key`
    /// follows a path that holds a list in `merged`; null for any other key. Throws ConfigException naming `set` for
    /// an index past the list's end or a key inside an element that is not an object.</summary>
    public static string? Rewrite(string key, string valueText, Config merged, string set)
    {
        var parts = key.Split('.');
        if (parts.Any(p => p.Length == 0 || p.Contains('"'))) return null;      // quoted keys: as HOCON reads them
        for (var i = 1; i < parts.Length; i++)
        {
            if (!IsIndex(parts[i])) continue;
            var listPath = string.Join('.', parts[..i]);
            if (!merged.HasPath(listPath)) return null;
            var list = merged.GetValue(listPath);
            if (!list.IsArray() && !ConfigLoader.IsEmptyList(list)) return null;
            var items = list.GetArray();
            var index = int.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture);
            if (index >= items.Count)
                throw new ConfigException($"--set '{set}': {listPath} has {items.Count} element(s)" +
                                          (items.Count == 0 ? "" : $" (indices 0–{items.Count - 1})") + $", so there is no {listPath}.{index}");
            var rest = string.Join('.', parts[(i + 1)..]);
            if (rest.Length > 0 && !items[index].IsObject())
                throw new ConfigException($"--set '{set}': {listPath}.{index} is not an object, so it has no key '{rest}'");
            var sb = new StringBuilder(listPath).Append(" = [");
            for (var e = 0; e < items.Count; e++)
            {
                if (e > 0) sb.Append(", ");
                if (e != index) sb.Append(ConfigLoader.RenderItem(items[e]));
                else if (rest.Length == 0) sb.Append(valueText);
                else sb.Append(ConfigLoader.RenderItem(items[e])).Append(" { ").Append(rest).Append(" = ").Append(valueText).Append(" }");
            }
            return sb.Append(']').ToString();
        }
        return null;
    }

    /// <summary>A list index as a key segment: decimal digits only, at most 9 of them.</summary>
    private static bool IsIndex(string segment) => segment.Length is > 0 and <= 9 && segment.All(char.IsAsciiDigit);
}
