using System;
using System.Collections.Generic;
using System.Linq;

namespace StaticNet;

/// <summary>
/// The counterpart of torch.nn.Module: something with children, parameters and a training flag.
/// Every layer of a generated network is a Module of its own type (Linear, ReLU, ...), so that
/// <c>net.Apply(m => { if (m is Linear l) Init.Normal(l.Weight, 0, 0.01f); })</c> reads as it does in PyTorch.
/// </summary>
public abstract class Module
{
    private static readonly List<(string, Module)> NoChildren = [];
    private static readonly List<(string, Parameter)> NoParameters = [];
    private static readonly List<(string, ModuleBuffer)> NoBuffers = [];

    /// <summary>Whether the module is in training mode (true until Eval is called), as torch's module.training.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The direct children with their names, in registration order (torch's named_children()).</summary>
    public virtual IReadOnlyList<(string Name, Module Module)> NamedChildren() => NoChildren;

    /// <summary>The parameters this module owns itself, not its children's (torch's _parameters).</summary>
    protected virtual IReadOnlyList<(string Name, Parameter Parameter)> LocalParameters() => NoParameters;

    /// <summary>The buffers this module owns itself, not its children's (torch's _buffers).</summary>
    protected virtual IReadOnlyList<(string Name, ModuleBuffer Buffer)> LocalBuffers() => NoBuffers;

    /// <summary>The direct children (torch's children()).</summary>
    public IEnumerable<Module> Children()
    {
        foreach ((string _, Module child) in NamedChildren()) yield return child;
    }

    /// <summary>This module and every descendant, parent before children (torch's modules()).</summary>
    public IEnumerable<Module> Modules()
    {
        foreach ((string _, Module module) in NamedModules()) yield return module;
    }

    /// <summary>This module (named "") and every descendant with its dotted name, parent first (torch's named_modules()).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var stack = new Stack<(string, Module)>();
        stack.Push(("", this));
        while (stack.Count > 0)
        {
            (string name, Module module) = stack.Pop();
            yield return (name, module);
            IReadOnlyList<(string Name, Module Module)> children = module.NamedChildren();
            for (int i = children.Count - 1; i >= 0; i--)
            {
                stack.Push((Join(name, children[i].Name), children[i].Module));
            }
        }
    }

    /// <summary>Every parameter with its state_dict name, such as <c>1.weight</c> (torch's named_parameters()).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach ((string prefix, Module module) in NamedModules())
        {
            foreach ((string name, Parameter parameter) in module.LocalParameters()) yield return (Join(prefix, name), parameter);
        }
    }

    /// <summary>
    /// Sets <see cref="Parameter.RequiresGrad"/> on every parameter of this module and its descendants (torch's
    /// requires_grad_()): <c>net.RequiresGrad(false); head.RequiresGrad(true);</c> fine-tunes only the head. Returns this module.
    /// </summary>
    public Module RequiresGrad(bool requiresGrad = true)
    {
        foreach (Parameter parameter in Parameters()) parameter.RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Every parameter, in the order of <see cref="NamedParameters"/> (torch's parameters()).</summary>
    public IEnumerable<Parameter> Parameters()
    {
        foreach ((string _, Parameter parameter) in NamedParameters()) yield return parameter;
    }

    /// <summary>Every buffer with its state_dict name, such as <c>1.running_mean</c> (torch's named_buffers()).</summary>
    public IEnumerable<(string Name, ModuleBuffer Buffer)> NamedBuffers()
    {
        foreach ((string prefix, Module module) in NamedModules())
        {
            foreach ((string name, ModuleBuffer buffer) in module.LocalBuffers()) yield return (Join(prefix, name), buffer);
        }
    }

    /// <summary>Every buffer, in the order of <see cref="NamedBuffers"/> (torch's buffers()).</summary>
    public IEnumerable<ModuleBuffer> Buffers()
    {
        foreach ((string _, ModuleBuffer buffer) in NamedBuffers()) yield return buffer;
    }

    /// <summary>
    /// Every parameter and buffer with its name, in PyTorch's state_dict order: a module's own parameters, then its own
    /// buffers, then its children's, recursively (torch's state_dict()). The tensors are live views, not copies.
    /// </summary>
    public IEnumerable<(string Name, StateTensor Tensor)> StateDict()
    {
        foreach ((string prefix, Module module) in NamedModules())
        {
            foreach ((string name, Parameter parameter) in module.LocalParameters()) yield return (Join(prefix, name), parameter);
            foreach ((string name, ModuleBuffer buffer) in module.LocalBuffers()) yield return (Join(prefix, name), buffer);
        }
    }

    /// <summary>
    /// Copies another state_dict into this module's tensors by name (torch's load_state_dict), for example
    /// <c>replica.LoadStateDict(net.StateDict())</c> to give a second network (for another thread) the same weights.
    /// Strict (the default): every name and shape must match or nothing is copied and
    /// <see cref="StateDictMismatchException"/> lists the differences.
    /// </summary>
    public LoadResult LoadStateDict(IEnumerable<(string Name, StateTensor Tensor)> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        return StateDictLoader.Load(StateDict().ToArray(), new InMemoryState(stateDict), "the given state_dict", strict, prefix: "");
    }

    /// <summary>Another module's live tensors as a source for the state_dict loader.</summary>
    private sealed class InMemoryState(IEnumerable<(string Name, StateTensor Tensor)> state) : IStateSource
    {
        private readonly Dictionary<string, StateTensor> _byName = state.ToDictionary(e => e.Name, e => e.Tensor, StringComparer.Ordinal);

        public IEnumerable<string> Names => _byName.Keys;

        public bool TryFind(string name, out IReadOnlyList<int> shape, out string dtype)
        {
            bool found = _byName.TryGetValue(name, out StateTensor? tensor);
            shape = tensor?.Shape ?? [];
            dtype = tensor?.DType == TensorDType.I64 ? "I64" : "F32";
            return found;
        }

        public void ReadFloats(string name, Span<float> destination) => _byName[name].FloatMemory.Span.CopyTo(destination);

        public void ReadInt64s(string name, Span<long> destination) => _byName[name].Int64Memory.Span.CopyTo(destination);
    }

    /// <summary>Calls <paramref name="fn"/> on every child (recursively) and then on this module, as torch's apply(fn).</summary>
    public Module Apply(Action<Module> fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        foreach ((string _, Module child) in NamedChildren()) child.Apply(fn);
        fn(this);
        return this;
    }

    /// <summary>Sets training mode on this module and every descendant (torch's train(mode)).</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        IReadOnlyList<(string Name, Module Module)> children = NamedChildren();
        for (int i = 0; i < children.Count; i++) children[i].Module.Train(mode); // by index: no enumerator to allocate
        return this;
    }

    /// <summary>Sets evaluation mode: dropout passes its input through (torch's eval()).</summary>
    public Module Eval() => Train(false);

    /// <summary>Sets every parameter's gradient to zero (torch's zero_grad()).</summary>
    public virtual void ZeroGrad()
    {
        foreach (Parameter parameter in Parameters()) parameter.Grad.Clear();
    }

    /// <summary>Re-initialises this module's own parameters as PyTorch's reset_parameters() does, from <paramref name="generator"/>.</summary>
    public virtual void ResetParameters(RandomGenerator generator)
    {
    }

    /// <summary>A representation in the style of PyTorch's module repr, such as <c>Linear(in_features=784, out_features=256, bias=True)</c>.</summary>
    public override string ToString()
    {
        IReadOnlyList<(string Name, Module Module)> children = NamedChildren();
        if (children.Count == 0) return TypeName + "(" + ExtraRepr() + ")";
        var text = new System.Text.StringBuilder(TypeName).Append("(\n");
        foreach ((string name, Module child) in children)
        {
            text.Append("  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  ")).Append('\n');
        }
        return text.Append(')').ToString();
    }

    /// <summary>The name <see cref="ToString"/> starts with: the class name, without generic arity.</summary>
    protected virtual string TypeName => GetType().Name;

    /// <summary>The arguments shown inside the parentheses of <see cref="ToString"/> (torch's extra_repr()).</summary>
    protected virtual string ExtraRepr() => "";

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
